"""Shared fixtures: an isolated home for every test run, SQLite and a real PostgreSQL.

The PostgreSQL server is private to the test run (initdb in a temporary folder, a Unix socket
there, no TCP), started once per session. When its binaries are missing the tests that need it
fail under CI=true and are skipped elsewhere with the reason.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
PG_BIN_DIRS = [
    "/usr/lib/postgresql/17/bin",
    "/usr/lib/postgresql/16/bin",
    "/usr/lib/postgresql/15/bin",
]


def missing_component(what: str) -> None:
    """A system test's component is missing: fail in CI, skip (loudly) elsewhere."""
    if IN_CI:
        pytest.fail(
            f"{what} is missing (CI=true: system components must be installed by ./run.sh test)"
        )
    pytest.skip(f"{what} is missing")


@pytest.fixture(autouse=True)
def _english_between_tests():
    """The app switches the process-wide language at login; start every test in English."""
    from clerk import i18n

    i18n.set_language("en")
    yield
    i18n.set_language("en")


@pytest.fixture(scope="session", autouse=True)
def _isolated_home(tmp_path_factory):
    """Keep every test away from the real user's config, data and logs."""
    home = tmp_path_factory.mktemp("home")
    saved = dict(os.environ)
    for name in list(os.environ):
        if name.startswith("CLERK_"):
            del os.environ[name]
    os.environ.update(
        {
            "XDG_CONFIG_HOME": str(home / "config"),
            "XDG_DATA_HOME": str(home / "data"),
            "XDG_STATE_HOME": str(home / "state"),
            "XDG_CACHE_HOME": str(home / "cache"),
            "CLERK_LOG_DIR": str(home / "log"),
            "CLERK_AUDIT_KEY": "test-audit-key-0123456789abcdef",
            "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
            "TZ": "UTC",
        }
    )
    yield home
    os.environ.clear()
    os.environ.update(saved)


# -- PostgreSQL --------------------------------------------------------------------------------


def _pg_bin() -> Path | None:
    for folder in PG_BIN_DIRS:
        if Path(folder, "initdb").exists():
            return Path(folder)
    found = shutil.which("initdb")
    return Path(found).parent if found else None


class PgServer:
    def __init__(self, bin_dir: Path, folder: Path, port: int):
        self.bin_dir, self.folder, self.port = bin_dir, folder, port

    def url(self, name: str) -> str:
        return f"postgresql+psycopg://postgres@/{name}?host={self.folder}&port={self.port}"

    def create_database(self) -> str:
        import psycopg

        name = "t_" + uuid.uuid4().hex[:12]
        with psycopg.connect(
            host=str(self.folder),
            port=self.port,
            user="postgres",
            dbname="postgres",
            autocommit=True,
        ) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return name


def _as_postgres(argv: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *argv]
    return argv


@pytest.fixture(scope="session")
def pg_server():
    bin_dir = _pg_bin()
    if bin_dir is None:
        missing_component("PostgreSQL server (Debian package postgresql)")
    if os.geteuid() == 0:
        import pwd

        try:
            pw = pwd.getpwnam("postgres")
        except KeyError:
            missing_component("the postgres system user")
    folder = Path(tempfile.mkdtemp(prefix="clerk-pg-"))
    data = folder / "data"
    if os.geteuid() == 0:
        os.chown(folder, pw.pw_uid, pw.pw_gid)
    port = 54000 + os.getpid() % 1000
    subprocess.run(
        _as_postgres(
            [
                str(bin_dir / "initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "-A",
                "trust",
                "--no-sync",
                "-E",
                "UTF8",
                "--locale=C",
            ]
        ),
        check=True,
        capture_output=True,
    )
    opts = f"-k {folder} -p {port} -c listen_addresses= -c fsync=off -c max_connections=100"
    subprocess.run(
        _as_postgres(
            [
                str(bin_dir / "pg_ctl"),
                "-D",
                str(data),
                "-o",
                opts,
                "-w",
                "-l",
                str(folder / "log"),
                "start",
            ]
        ),
        check=True,
        capture_output=True,
    )
    server = PgServer(bin_dir, folder, port)
    try:
        yield server
    finally:
        subprocess.run(
            _as_postgres([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
            capture_output=True,
        )
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def pg_url(pg_server) -> str:
    return pg_server.url(pg_server.create_database())


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'clerk.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path) -> str:
    """Run the test on both backends."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'clerk.db'}"
    return request.getfixturevalue("pg_url")


def make_ctx(url: str, config_path: str | None = None):
    from clerk.context import Context

    ctx = Context(db_url=url, config_path=config_path)
    ctx.db.upgrade()
    return ctx


@pytest.fixture
def ctx(db_url):
    """A context on an empty, migrated database (both backends)."""
    c = make_ctx(db_url)
    yield c
    c.close()


@pytest.fixture
def sqlite_ctx(sqlite_url):
    c = make_ctx(sqlite_url)
    yield c
    c.close()


@pytest.fixture
def demo_ctx(sqlite_url):
    """A migrated SQLite database with the demo office seeded."""
    from clerk.domain.demo import seed_demo

    c = make_ctx(sqlite_url)
    seed_demo(c)
    yield c
    c.close()
