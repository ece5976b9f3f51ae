"""Over SSH, deployed as docs/deploy.md says: a service account, ForceCommand, the app's own login.

A module fixture builds the documented deployment in a fresh folder under /tmp (0755, so the
service account can traverse it): a copy of the working tree, `./run.sh setup` with Debian's
/usr/bin/python3 (the venv's interpreter must be readable by the account, which the development
venv's pyenv Python under /root is not), a dedicated system account made for this run, its
owner-only folders for the database, logs and secrets, a root-owned config without secrets, the
audit key stored with `clerk secrets set`, the schema and the demo office created by the account.

A real sshd on loopback lets only that account in, with the `Match User` block of docs/deploy.md
(plus `--counter 2`). The tests log in over a pty, read the screen with pyte, log in to the app as
a demo clerk and check what the app wrote, as whom, and that nobody else can read it.
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import pwd
import secrets
import select
import shutil
import stat
import struct
import subprocess
import tempfile
import termios
import time
from dataclasses import dataclass
from pathlib import Path

import pyte
import pytest

from tests.conftest import missing_component
from tests.system.loopback import free_port

ROOT = Path(__file__).resolve().parents[2]
DEBIAN_PYTHON = Path("/usr/bin/python3")
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
DEMO_USER, DEMO_PASSWORD, DEMO_FULL_NAME = "ana", "clerk-ana-1", "Ana Chan"  # clerk/domain/demo.py
COPY_IGNORE = shutil.ignore_patterns(
    ".venv", ".git", "__pycache__", "*.db", ".pytest_cache", ".ruff_cache", ".hypothesis"
)


@dataclass
class Deployment:
    folder: Path
    account: str
    config: Path
    db: Path
    secrets: Path
    logs: Path
    audit_key: str = ""

    @property
    def clerk(self) -> Path:
        return self.folder / ".venv" / "bin" / "clerk"

    @property
    def uid(self) -> int:
        return pwd.getpwnam(self.account).pw_uid

    def run_as(
        self, user: str, argv: list[str], *, stdin: str | None = None
    ) -> subprocess.CompletedProcess:
        """`argv` as `user`, in a clean environment (not the test run's CLERK_*/XDG_* ones)."""
        return subprocess.run(
            ["runuser", "-u", user, "--", *argv],
            input=stdin,
            capture_output=True,
            text=True,
            cwd=self.folder,
            env={"PATH": PATH, "LANG": "C.UTF-8"},
            timeout=120,
        )

    def clerk_as_account(self, *args: str, stdin: str | None = None) -> str:
        """`runuser -u ACCOUNT -- env CLERK_CONFIG=… clerk ARGS` (docs/deploy.md's sudo lines)."""
        argv = ["env", f"CLERK_CONFIG={self.config}", str(self.clerk), *args]
        done = self.run_as(self.account, argv, stdin=stdin)
        assert done.returncode == 0, f"clerk {' '.join(args)}: {done.stdout}{done.stderr}"
        return done.stdout


def _owner_only_folder(path: Path, uid: int, gid: int) -> None:
    path.mkdir(parents=True, exist_ok=True)
    os.chown(path, uid, gid)
    path.chmod(0o700)


@pytest.fixture(scope="module")
def deployment():
    if os.geteuid() != 0:
        missing_component("root (the test creates a service account and runs sshd)")
    if not DEBIAN_PYTHON.exists():
        missing_component("Debian python3 (/usr/bin/python3, Debian packages python3 python3-venv)")
    for tool in ("useradd", "usermod", "userdel", "runuser", "pkill", "ps"):
        if not shutil.which(tool, path=PATH):
            missing_component(f"{tool} (Debian packages passwd, util-linux, procps)")
    folder = Path(tempfile.mkdtemp(prefix="clerk-deploy-"))
    folder.chmod(0o755)  # the service account must traverse it (pytest's tmp_path is 0700)
    account = f"clerkt{os.getpid() % 100000}"
    created = False
    try:
        shutil.copytree(ROOT, folder, ignore=COPY_IGNORE, symlinks=True, dirs_exist_ok=True)
        # the documented install step, as root; pip's cache is root's own (not the test's XDG one)
        env = {
            k: v for k, v in os.environ.items() if not k.startswith(("CLERK_", "XDG_", "VIRTUAL"))
        }
        env["PYTHON"] = str(DEBIAN_PYTHON)
        setup = subprocess.run(
            ["./run.sh", "setup"],
            cwd=folder,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=900,
        )
        assert setup.returncode == 0, f"./run.sh setup failed:\n{setup.stdout[-3000:]}"
        home = folder / "home"
        subprocess.run(
            ["useradd", "--system", "--user-group", "--shell", "/bin/sh"]
            + ["--home-dir", str(home), "--create-home", account],
            check=True,
            capture_output=True,
            env={"PATH": PATH},
        )
        created = True
        # useradd leaves the password field "!" (locked). With `UsePAM no` (as in the sshd below)
        # sshd refuses every login of a locked account, key logins too ("User … not allowed
        # because account is locked"); "*" means "no password" without locking the account.
        # (With Debian's default `UsePAM yes` the locked field does not stop key logins.)
        subprocess.run(["usermod", "-p", "*", account], check=True, env={"PATH": PATH})
        pw = pwd.getpwnam(account)
        var, logs, secret_dir = folder / "var", folder / "var" / "log", folder / "secrets"
        for path in (var, logs, secret_dir):
            _owner_only_folder(path, pw.pw_uid, pw.pw_gid)
        config = folder / "etc" / "config.toml"
        config.parent.mkdir(mode=0o755)
        db = var / "clerk.db"
        config.write_text(f"""\
[office]
code = "01"
name = "Identification Services Bureau — Headquarters"
[database]
url = "sqlite:///{db}"
[security]
secrets_dir = "{secret_dir}"
[logging]
dir = "{logs}"
""")
        config.chmod(0o644)  # root's, readable by all: there is no secret in it
        dep = Deployment(folder, account, config, db, secret_dir, logs, secrets.token_hex(32))
        out = dep.clerk_as_account("secrets", "set", "AUDIT_KEY", stdin=dep.audit_key + "\n")
        assert str(secret_dir / "audit_key") in out
        out = dep.clerk_as_account("secrets", "check", "AUDIT_KEY")
        assert str(secret_dir / "audit_key") in out
        dep.clerk_as_account("db", "upgrade")
        # no --db: `clerk demo` seeds the configured database (commands/tui.py)
        out = dep.clerk_as_account("demo", "--seed-only")
        assert str(db) in out and DEMO_PASSWORD in out, out
        yield dep
    finally:
        if created:
            subprocess.run(["pkill", "-KILL", "-u", account], env={"PATH": PATH})
            time.sleep(0.2)
            subprocess.run(["userdel", account], capture_output=True, env={"PATH": PATH})
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def sshd(deployment, tmp_path_factory):
    sshd_bin = shutil.which("sshd", path=PATH) or "/usr/sbin/sshd"
    if not Path(sshd_bin).exists() or not shutil.which("ssh"):
        missing_component(
            "OpenSSH server and client (Debian packages openssh-server, openssh-client)"
        )
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # privilege separation directory
    keys = tmp_path_factory.mktemp("ssh")  # root's: the host key and the clerk's client key
    for name in ("host", "user"):
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(keys / name)], check=True
        )
    # the clerks' public keys, in the service account's home as docs/deploy.md says; owned by
    # the account, .ssh 0700 and the file 0600, so sshd's default StrictModes yes accepts them
    pw = pwd.getpwnam(deployment.account)
    dot_ssh = Path(pw.pw_dir) / ".ssh"
    _owner_only_folder(dot_ssh, pw.pw_uid, pw.pw_gid)
    authorized = dot_ssh / "authorized_keys"
    kind, key = (keys / "user.pub").read_text().split()[:2]
    authorized.write_text(f"{kind} {key} clerk at counter 2 (the test's key)\n")
    os.chown(authorized, pw.pw_uid, pw.pw_gid)
    authorized.chmod(0o600)
    account, dep = deployment.account, deployment
    port = free_port()
    config = keys / "sshd_config"
    config.write_text(f"""
Port {port}
ListenAddress 127.0.0.1
HostKey {keys / "host"}
PidFile {keys / "sshd.pid"}
AuthorizedKeysFile .ssh/authorized_keys
StrictModes yes
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin no
AllowUsers {account}
Match User {account}
    ForceCommand exec env CLERK_CONFIG={dep.config} {dep.clerk} --counter 2
    PermitTTY yes
    AllowTcpForwarding no
    AllowAgentForwarding no
    X11Forwarding no
    PermitTunnel no
    SetEnv LANG=C.UTF-8 COLORTERM=truecolor
""")
    log = keys / "sshd.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sshd_bin, "-D", "-e", "-f", str(config)], stdout=out, stderr=subprocess.STDOUT
        )
    deadline = time.monotonic() + 10
    while not _listening(port):
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            pytest.fail(f"sshd did not listen on {port}: {log.read_text()}")
        time.sleep(0.1)
    yield SshServer(port, keys / "user", account, log)
    proc.terminate()
    proc.wait(timeout=10)


def _listening(port: int) -> bool:
    import socket

    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class SshServer:
    port: int
    key: Path
    account: str
    log: Path


class SshTerminal:
    """`ssh -tt ACCOUNT@127.0.0.1` in a 100x30 pty; the screen as pyte renders it."""

    def __init__(self, server: SshServer, extra: list[str] | None = None):
        self.screen = pyte.Screen(100, 30)
        self.stream = pyte.ByteStream(self.screen)
        self.server = server
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # child: the clerk's ssh client
            os.environ["TERM"] = "xterm-256color"
            os.execvp(
                "ssh",
                [
                    "ssh",
                    "-tt",
                    "-p",
                    str(server.port),
                    "-i",
                    str(server.key),
                    "-o",
                    "StrictHostKeyChecking=no",
                    "-o",
                    "UserKnownHostsFile=/dev/null",
                    "-o",
                    "LogLevel=ERROR",
                    *(extra or []),
                    f"{server.account}@127.0.0.1",
                ],
            )
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
        self.closed = False

    @property
    def display(self) -> list[str]:
        return self.screen.display

    def shows(self, text: str) -> bool:
        return any(text in line for line in self.display)

    def _pump(self, seconds: float) -> None:
        ready, _, _ = select.select([self.fd], [], [], seconds)
        if ready:
            try:
                data = os.read(self.fd, 65536)
            except OSError:
                data = b""
            if not data:
                self.closed = True
                return
            self.stream.feed(data)

    def wait_for(self, text: str, timeout: float = 40.0) -> bool:
        deadline = time.monotonic() + timeout
        while not self.shows(text) and not self.closed and time.monotonic() < deadline:
            self._pump(0.2)
        return self.shows(text)

    def type(self, keys: str, pause: float = 0.15) -> None:
        """One key at a time, reading the screen in between (Enter is "\\r", Tab "\\t")."""
        for key in keys:
            os.write(self.fd, key.encode())
            end = time.monotonic() + pause
            while not self.closed and time.monotonic() < end:
                self._pump(end - time.monotonic())

    def fail_text(self) -> str:
        return (
            "\n".join(self.display) + "\n--- sshd log ---\n" + self.server.log.read_text()[-3000:]
        )

    def close(self) -> None:
        os.kill(self.pid, 9)
        os.waitpid(self.pid, 0)
        os.close(self.fd)

    def __enter__(self) -> SshTerminal:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _ssh_screen(
    server: SshServer, marker: str, extra: list[str] | None = None, timeout: float = 40.0
) -> list[str]:
    """The screen once `marker` shows (or at the timeout)."""
    with SshTerminal(server, extra) as term:
        term.wait_for(marker, timeout)
        return term.display


def _query_as_account(dep: Deployment, sql: str) -> list[list]:
    """Read the database as the service account (root opening it could leave root-owned
    -wal/-shm files behind that the account then cannot open)."""
    script = (
        "import json, sqlite3, sys\n"
        "con = sqlite3.connect(sys.argv[1])\n"
        "print(json.dumps(con.execute(sys.argv[2]).fetchall()))\n"
    )
    python = str(dep.folder / ".venv" / "bin" / "python")
    done = dep.run_as(dep.account, [python, "-c", script, str(dep.db), sql])
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _assert_owner_only(path: Path, uid: int) -> None:
    st = path.stat()
    assert st.st_uid == uid, f"{path} is owned by uid {st.st_uid}, not the service account"
    assert stat.S_IMODE(st.st_mode) & 0o077 == 0, f"{path} is {oct(stat.S_IMODE(st.st_mode))}"


def test_ssh_login_then_app_login_gets_the_home_screen(deployment, sshd):
    with SshTerminal(sshd) as term:
        assert term.wait_for("User name"), term.fail_text()
        assert term.shows("Counter 2"), term.fail_text()
        term.type(DEMO_USER + "\r")  # Enter in the user name goes to the password
        term.type(DEMO_PASSWORD + "\r")  # the counter is 2 already (--counter 2)
        assert term.wait_for(f"Welcome, {DEMO_FULL_NAME}", timeout=30), term.fail_text()
    logins = _query_as_account(
        deployment,
        "SELECT username, counter, terminal FROM auditevent WHERE action = 'login' ORDER BY id",
    )
    assert logins, "no login in the audit trail"
    username, counter, terminal = logins[-1]
    assert (username, counter) == (DEMO_USER, 2)
    assert terminal.startswith("ssh:127.0.0.1"), terminal


def test_force_command_ignores_the_requested_command(sshd):
    # the client asks for a shell command; ForceCommand gives the workstation anyway
    display = _ssh_screen(sshd, "User name", extra=["-o", "RemoteCommand=id"])
    assert any("User name" in line for line in display), "\n".join(display)
    assert not any("uid=" in line for line in display)


def test_the_workstation_runs_as_the_service_account(deployment, sshd):
    dep = deployment
    with SshTerminal(sshd) as term:
        assert term.wait_for("User name"), term.fail_text()
        ps = subprocess.run(
            ["ps", "-o", "uid=,args=", "-u", dep.account],
            capture_output=True,
            text=True,
            env={"PATH": PATH},
        )
        clerks = [line for line in ps.stdout.splitlines() if str(dep.clerk) in line]
        assert clerks, ps.stdout
        assert all(int(line.split()[0]) == dep.uid for line in clerks)
        root_clerks = subprocess.run(
            ["ps", "-o", "args=", "-u", "0"], capture_output=True, text=True, env={"PATH": PATH}
        )
        assert str(dep.clerk) not in root_clerks.stdout
    log = dep.logs / "clerk.log"
    assert log.exists(), sorted(p.name for p in dep.logs.iterdir())
    _assert_owner_only(log, dep.uid)


def test_data_and_secrets_belong_to_the_service_account(deployment):
    """Runs last: it also covers what the SSH sessions above wrote (log, -wal/-shm)."""
    dep, uid = deployment, deployment.uid
    for folder in (dep.db.parent, dep.logs, dep.secrets):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
        assert folder.stat().st_uid == uid, folder
    secret = dep.secrets / "audit_key"
    for path in (dep.db, secret):
        _assert_owner_only(path, uid)
    for path in dep.db.parent.rglob("*"):  # -wal, -shm, the logs: none root's, none readable
        _assert_owner_only(path, uid)
    assert secret.read_text().strip() == dep.audit_key
    config = dep.config.stat()
    assert config.st_uid == 0 and stat.S_IMODE(config.st_mode) == 0o644
    assert dep.audit_key not in dep.config.read_text()
    for path in (dep.db, secret):
        denied = dep.run_as("nobody", ["cat", str(path)])
        assert denied.returncode != 0 and not denied.stdout, f"nobody could read {path}"
    # the service account can, and the app sees its data there
    users = _query_as_account(dep, "SELECT username FROM user ORDER BY username")
    assert [DEMO_USER] in users, users
