"""Over SSH: a real sshd on loopback, key login, ForceCommand runs clerk, the login screen arrives.

The account used is root: on this machine the venv's Python lives under /root, which another
account cannot reach. docs/deploy.md describes the production set-up with a dedicated service
account; the sshd_config block tested here is the same except for the user name.
"""

from __future__ import annotations

import os
import pty
import select
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pyte
import pytest

from tests.conftest import missing_component
from tests.system.loopback import free_port, wait_until_listening

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def sshd(tmp_path):
    sshd_bin = shutil.which("sshd") or "/usr/sbin/sshd"
    if not Path(sshd_bin).exists() or not shutil.which("ssh"):
        missing_component(
            "OpenSSH server and client (Debian packages openssh-server, openssh-client)"
        )
    if os.geteuid() != 0:
        missing_component("root (sshd must run as root to log a user in)")
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # privilege separation directory
    db = f"sqlite:///{tmp_path / 'office.db'}"
    subprocess.run(
        [sys.executable, "-m", "clerk", "demo", "--seed-only", "--db", db],
        check=True,
        capture_output=True,
        cwd=ROOT,
    )
    for name in ("host", "user"):
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / name)], check=True
        )
    keys = tmp_path / "authorized_keys"
    keys.write_text((tmp_path / "user.pub").read_text())
    keys.chmod(0o600)
    command = shlex.join([sys.executable, "-m", "clerk", "--db", db, "--counter", "2"])
    audit_key = os.environ["CLERK_AUDIT_KEY"]
    port = free_port()
    config = tmp_path / "sshd_config"
    config.write_text(f"""
Port {port}
ListenAddress 127.0.0.1
HostKey {tmp_path / "host"}
PidFile {tmp_path / "sshd.pid"}
AuthorizedKeysFile {keys}
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin prohibit-password
AllowUsers root
Match User root
    ForceCommand cd {ROOT} && exec env CLERK_AUDIT_KEY={audit_key} {command}
    PermitTTY yes
    AllowTcpForwarding no
    AllowAgentForwarding no
    X11Forwarding no
    PermitTunnel no
    SetEnv LANG=C.UTF-8 COLORTERM=truecolor
""")
    proc = subprocess.Popen(
        [sshd_bin, "-D", "-e", "-f", str(config)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    wait_until_listening(proc, port, "sshd", timeout=10)
    yield port, tmp_path / "user"
    proc.terminate()
    proc.wait(timeout=10)


def _ssh_screen(
    port: int, key: Path, marker: str, extra: list[str] | None = None, timeout: float = 40.0
) -> list[str]:
    screen = pyte.Screen(100, 30)
    stream = pyte.ByteStream(screen)
    pid, fd = pty.fork()
    if pid == 0:  # child: the clerk's ssh client in a 100x30 terminal
        os.environ["TERM"] = "xterm-256color"
        os.execvp(
            "ssh",
            [
                "ssh",
                "-tt",
                "-p",
                str(port),
                "-i",
                str(key),
                "-o",
                "StrictHostKeyChecking=no",
                "-o",
                "UserKnownHostsFile=/dev/null",
                "-o",
                "LogLevel=ERROR",
                *(extra or []),
                "root@127.0.0.1",
            ],
        )
    import fcntl
    import struct
    import termios

    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.2)
            if ready:
                try:
                    data = os.read(fd, 65536)
                except OSError:
                    break
                if not data:
                    break
                stream.feed(data)
                if any(marker in line for line in screen.display):
                    break
    finally:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        os.close(fd)
    return screen.display


def test_ssh_login_gets_the_workstation(sshd):
    port, key = sshd
    display = _ssh_screen(port, key, "User name")
    assert any("User name" in line for line in display), "\n".join(display)
    assert any("Counter 2" in line for line in display)


def test_force_command_ignores_the_requested_command(sshd):
    port, key = sshd
    # the client asks for a shell command; ForceCommand gives the workstation anyway
    display = _ssh_screen(port, key, "User name", extra=["-o", "RemoteCommand=id"])
    assert any("User name" in line for line in display), "\n".join(display)
    assert not any("uid=" in line for line in display)
