"""The database: one `Database` per process, SQLite (embedded) or PostgreSQL (psycopg 3).

SQLite: WAL, every commit on disk before `write()` returns (group commit, see `_sync_wal`; no
sync by choice: `[database] sqlite_synchronous = "normal"`), foreign_keys=ON,
a busy timeout, writers of all processes taking turns on an flock, and every write transaction
opened with BEGIN IMMEDIATE (a deferred BEGIN that reads then writes fails at once with "database
is locked" whatever the timeout). Reads use `db.read()`, a deferred transaction that never blocks
writers in WAL mode. PostgreSQL: READ COMMITTED, row locks (`FOR UPDATE [SKIP LOCKED]`) where the
services need them.

Services own transactions: `with db.write() as s:` commits on success (and the audit event with
it), rolls back on any exception.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from clerk.errors import Failure, UsageError
from clerk.turns import WriterTurn, writer_turn

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine
    from sqlmodel import Session

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def default_sqlite_url() -> str:
    from clerk.paths import user_data_dir

    return f"sqlite:///{user_data_dir() / 'clerk.db'}"


def normalise_url(url: str) -> str:
    """Check a database URL; one clear line if it is not one we can use."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    text = url.strip()
    try:
        parsed = make_url(text)
    except (ArgumentError, ValueError):
        raise UsageError(
            f"not a database URL: {url!r} (expected sqlite:///FILE or "
            "postgresql+psycopg://USER@HOST/NAME)"
        ) from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if parsed.drivername not in ("sqlite", "sqlite+pysqlite"):
            raise UsageError(f"unsupported SQLite driver {parsed.drivername!r}; use sqlite:///FILE")
        if parsed.database in (None, "", ":memory:"):
            raise UsageError("an in-memory SQLite database cannot be shared; use sqlite:///FILE")
        return parsed.render_as_string(hide_password=False)
    if backend == "postgresql":
        if parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg"):
            parsed = parsed.set(drivername="postgresql+psycopg")
        else:
            raise UsageError(
                f"unsupported PostgreSQL driver {parsed.drivername!r}; use postgresql+psycopg://"
            )
        if not parsed.database:
            raise UsageError("the PostgreSQL URL names no database")
        return parsed.render_as_string(hide_password=False)
    raise UsageError(f"unsupported database {backend!r}: use sqlite or postgresql")


def _sqlite_path(url: str) -> Path:
    from sqlalchemy.engine import make_url

    return Path(make_url(url).database or "")


_REVISION_LINE = re.compile(
    r"^(revision|down_revision)\s*(?::[^=\n]*)?=\s*(?:['\"]([0-9A-Za-z_]+)['\"]|None)\s*$",
    re.MULTILINE,
)


def _script_head() -> str | None:
    """The newest migration's revision, read from the files' `revision`/`down_revision` lines;
    None when that is not one plain chain (Alembic then decides)."""
    revisions, parents = set(), set()
    for path in (MIGRATIONS_DIR / "versions").glob("*.py"):
        found = {name: value for name, value in _REVISION_LINE.findall(path.read_text("utf-8"))}
        if not found.get("revision") or "down_revision" not in found:
            return None
        revisions.add(found["revision"])
        if found["down_revision"]:
            parents.add(found["down_revision"])
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


class Database:
    def __init__(
        self,
        url: str,
        *,
        busy_timeout_ms: int = 10000,
        password: str | None = None,
        synchronous: str = "full",
    ):
        self.url = normalise_url(url)
        self.busy_timeout_ms = busy_timeout_ms
        if synchronous not in ("full", "normal"):
            raise UsageError(f"SQLite synchronous must be full or normal, not {synchronous!r}")
        self.synchronous = synchronous.upper()
        self._password = password
        self._engine: Engine | None = None
        self._read_engine: Engine | None = None
        self._schema_ok = False
        self._writer: WriterTurn | None = None
        self._wal_path: str | None = None

    # -- engine ----------------------------------------------------------------------------------
    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")

    @property
    def dialect(self) -> str:
        return "sqlite" if self.is_sqlite else "postgresql"

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = self._create_engine()
        return self._engine

    def _create_engine(self) -> Engine:
        from sqlalchemy import create_engine, event
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import DBAPIError

        if self.is_sqlite:
            path = _sqlite_path(self.url)
            _prepare_sqlite_file(path)
            engine = create_engine(
                self.url,
                connect_args={"timeout": self.busy_timeout_ms / 1000, "check_same_thread": False},
            )
            timeout = int(self.busy_timeout_ms)

            @event.listens_for(engine, "connect")
            def _on_connect(dbapi_conn, _record):
                dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
                cur = dbapi_conn.cursor()
                cur.execute("PRAGMA journal_mode=WAL")
                # FULL is kept by `write()` itself: it syncs the WAL after the commit, outside
                # the writers' turn (see `_sync_wal`); SQLite's own per-commit sync stays off
                cur.execute("PRAGMA synchronous=NORMAL")
                cur.execute("PRAGMA foreign_keys=ON")
                cur.execute(f"PRAGMA busy_timeout={timeout}")
                cur.close()

            @event.listens_for(engine, "begin")
            def _on_begin(conn):
                # straight on the driver: SQLAlchemy's execute path would cost more than the
                # BEGIN, inside every writer's turn; a driver error is wrapped as SQLAlchemy's
                sql = (
                    "BEGIN" if conn.get_execution_options().get("clerk_read") else "BEGIN IMMEDIATE"
                )
                try:
                    conn.connection.driver_connection.execute(sql)
                except sqlite3.Error as exc:
                    raise DBAPIError.instance(sql, (), exc, sqlite3.Error) from exc

        else:
            url = make_url(self.url)
            if self._password is not None and url.password is None:
                url = url.set(password=self._password)
            engine = create_engine(
                url,
                pool_pre_ping=True,
                pool_size=5,
                max_overflow=5,
                connect_args={"connect_timeout": 10},
            )
        return engine

    @property
    def read_engine(self) -> Engine:
        if self._read_engine is None:
            self._read_engine = self.engine.execution_options(clerk_read=True)
        return self._read_engine

    # -- sessions --------------------------------------------------------------------------------
    @contextmanager
    def write(self) -> Iterator[Session]:
        """A write transaction (BEGIN IMMEDIATE on SQLite); commits at the end of the block."""
        from sqlmodel import Session

        # the session is made before the turn and closed (its connection back in the pool)
        # after it: only the transaction itself holds the other writers up
        with (
            _translate_errors(self),
            Session(self.engine, expire_on_commit=False) as session,
            self._turn(),
            session.begin(),
        ):
            yield session
        if self.synchronous == "FULL" and self.is_sqlite:
            self._sync_wal()

    @contextmanager
    def write_core(self) -> Iterator[Connection]:
        """A write transaction on a bare Core connection, for the hottest writers (the queue).

        Same transaction as `write()` (BEGIN IMMEDIATE on SQLite, the writers' turn, the WAL
        synced before returning), without the ORM Session: its connection checkout, transaction
        bookkeeping and connection check-in cost about 0.1 ms per transaction, inside the turn
        every other writer waits for. Here the connection is checked out before the turn and
        back in the pool after it; only BEGIN, the statements and COMMIT are inside.
        """
        with _translate_errors(self), self.engine.connect() as connection, self._turn():
            connection.begin()
            try:
                yield connection
            except BaseException:
                connection.rollback()
                raise
            connection.commit()
        if self.synchronous == "FULL" and self.is_sqlite:
            self._sync_wal()

    def _sync_wal(self) -> None:
        """Put the committed transaction on disk before the caller goes on (group commit).

        SQLite's synchronous=FULL syncs the WAL inside the commit, so every other writer waits for
        the disk too: the turn is held for the sync. Here SQLite commits at NORMAL (the WAL
        is written, not synced), the turn is handed on, and then this process syncs the WAL
        itself: the service returns — and the clerk sees the receipt, the tag — only once the
        transaction is on disk, as with FULL, while the next writer already works; one sync
        covers every transaction written before it. A power cut can take back only
        transactions whose callers were not yet answered; the WAL being appended in order,
        what survives is always a consistent prefix (no gap in the numbers). Other processes
        may read a transaction a moment before it is on disk, as they may with NORMAL.
        """
        if self._wal_path is None:
            self._wal_path = str(_sqlite_path(self.url)) + "-wal"
        try:
            fd = os.open(self._wal_path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            return  # checkpointed and removed: the database file was synced by the checkpoint
        try:
            os.fdatasync(fd)
        finally:
            os.close(fd)

    @contextmanager
    def _turn(self) -> Iterator[None]:
        if not self.is_sqlite:
            yield  # PostgreSQL queues writers on its row locks
            return
        if self._writer is None:  # resolved once: a path lookup per write adds up
            self._writer = writer_turn(_sqlite_path(self.url))
        with self._writer.turn(self.busy_timeout_ms / 1000):
            yield

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only transaction; never takes the write lock."""
        from sqlmodel import Session

        with _translate_errors(self), Session(self.read_engine, expire_on_commit=False) as session:
            try:
                yield session
            finally:
                session.close()  # ends the transaction; loaded objects stay readable

    def dispose(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
            self._read_engine = None

    # -- schema ----------------------------------------------------------------------------------
    def alembic_config(self):
        from alembic.config import Config as AlembicConfig

        cfg = AlembicConfig()
        cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
        cfg.attributes["clerk_db"] = self
        return cfg

    def current_revision(self) -> str | None:
        """The schema's revision, read without importing Alembic (about 11 MiB and 0.1 s for
        every clerk process, which only ever checks it)."""
        from sqlalchemy.exc import OperationalError, ProgrammingError

        with _translate_errors(self), self.engine.connect() as conn:
            try:
                rows = conn.exec_driver_sql("SELECT version_num FROM alembic_version").all()
            except (OperationalError, ProgrammingError) as exc:
                if "permission denied" in str(exc.orig or exc).lower():
                    raise Failure(
                        "this database role may not read the clerk schema: the owner runs "
                        "`clerk db grant ROLE` for it (docs/deploy.md)"
                    ) from None
                return None  # no version table: a database clerk never migrated
        if len(rows) > 1:  # branches: Alembic knows what that means
            from alembic.runtime.migration import MigrationContext

            with _translate_errors(self), self.engine.connect() as conn:
                return MigrationContext.configure(conn).get_current_revision()
        return rows[0][0] if rows else None

    def head_revision(self) -> str | None:
        head = _script_head()
        if head is not None:
            return head
        from alembic.script import ScriptDirectory

        return ScriptDirectory.from_config(self.alembic_config()).get_current_head()

    def upgrade(self) -> tuple[str | None, str | None]:
        """Apply pending migrations; returns (before, after). A no-op when already at head."""
        from alembic import command

        before = self.current_revision()
        head = self.head_revision()
        if before == head:
            return before, head
        if self.is_sqlite and before is not None:
            # SQLite DDL is not transactional: keep a copy of the database before migrating.
            path = _sqlite_path(self.url)
            self.backup(path.with_name(f"{path.name}.pre-{head}.bak"))
        with _translate_errors(self):
            command.upgrade(self.alembic_config(), "head")
        return before, self.current_revision()

    def require_current(self) -> None:
        """Refuse to work on a database whose schema is not the code's (checked once)."""
        if self._schema_ok:
            return
        current, head = self.current_revision(), self.head_revision()
        if current != head:
            if current is None:
                raise Failure(
                    "the database has no clerk schema yet: run `clerk db upgrade` "
                    "(or `clerk demo --seed-only` for a demo database)"
                )
            raise Failure(
                f"the database schema is at {current}, the program needs {head}: "
                "run `clerk db upgrade`"
            )
        self._schema_ok = True

    # -- backup / restore ------------------------------------------------------------------------
    def backup(self, dest: str | Path) -> Path:
        """An online, consistent copy (SQLite backup API, or pg_dump custom format)."""
        try:
            return self._backup(Path(dest))
        except OSError as exc:  # a name too long, a folder not writable, a full disk
            raise UsageError(f"cannot write the backup {dest}: {exc.strerror or exc}") from None

    def _backup(self, dest: Path) -> Path:
        if dest.exists() and dest.is_dir():
            raise UsageError(f"{dest} is a folder; give a file name")
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(dest.name + ".part")
        if self.is_sqlite:
            src = sqlite3.connect(str(_sqlite_path(self.url)), timeout=self.busy_timeout_ms / 1000)
            try:
                fd = os.open(tmp, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
                os.close(fd)
                dst = sqlite3.connect(str(tmp))
                try:
                    src.backup(dst)  # all pages in one step: consistent even with writers
                    dst.execute("PRAGMA journal_mode=DELETE")
                finally:
                    dst.close()
            finally:
                src.close()
        else:
            _run_pg_tool(["pg_dump", "--format=custom", "--no-owner", f"--file={tmp}"], self)
        os.replace(tmp, dest)
        return dest

    def restore(self, src: str | Path) -> None:
        """Replace the database's content with a backup made by `backup`."""
        src = Path(src)
        try:
            found = src.is_file()
        except OSError:  # e.g. a name too long for the file system
            found = False
        if not found:
            raise UsageError(f"backup file {src} does not exist")
        if self.is_sqlite:
            try:
                check = sqlite3.connect(f"file:{src}?mode=ro", uri=True)
                ok = check.execute("PRAGMA integrity_check").fetchone()[0]
                has_schema = check.execute(
                    "SELECT count(*) FROM sqlite_master WHERE name='alembic_version'"
                ).fetchone()[0]
                check.close()
            except sqlite3.DatabaseError:
                raise UsageError(f"{src} is not a clerk SQLite backup") from None
            if ok != "ok" or not has_schema:
                raise UsageError(f"{src} is not an intact clerk backup ({ok})")
            self.dispose()
            dest = _sqlite_path(self.url)
            tmp = dest.with_name(dest.name + ".restore")
            shutil.copyfile(src, tmp)
            os.chmod(tmp, 0o600)
            for suffix in ("-wal", "-shm"):
                Path(str(dest) + suffix).unlink(missing_ok=True)
            os.replace(tmp, dest)
        else:
            self.dispose()
            _run_pg_tool(
                [
                    "pg_restore",
                    "--clean",
                    "--if-exists",
                    "--no-owner",
                    "--single-transaction",
                    str(src),
                ],
                self,
                dbname_flag=True,
            )

    def integrity_check(self) -> str:
        if not self.is_sqlite:
            return "ok"
        with self.engine.connect() as conn:
            return conn.exec_driver_sql("PRAGMA integrity_check").scalar_one()


def _prepare_sqlite_file(path: Path) -> None:
    """Create the database file owner-only before SQLite does (it would use the umask)."""
    if path.exists():
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
        os.close(fd)
    except OSError as exc:
        raise Failure(f"cannot create the database file {path}: {exc.strerror}") from None


def _run_pg_tool(argv: list[str], db: Database, dbname_flag: bool = False) -> None:
    import subprocess

    from sqlalchemy.engine import make_url

    url = make_url(db.url)
    tool = shutil.which(argv[0]) or f"/usr/lib/postgresql/15/bin/{argv[0]}"
    env = dict(os.environ)
    conn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    if db._password and url.password is None:
        env["PGPASSWORD"] = db._password
    args = [tool, *argv[1:], f"--dbname={conn}"]
    try:
        done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=3600)
    except FileNotFoundError:
        raise Failure(f"{argv[0]} is not installed (Debian package postgresql-client)") from None
    if done.returncode != 0:
        raise Failure(f"{argv[0]} failed: {done.stderr.strip().splitlines()[-1:]}")


@contextmanager
def _translate_errors(db: Database) -> Iterator[None]:
    """Turn connection failures into one clear line; everything else passes through."""
    from sqlalchemy.exc import DataError, OperationalError

    try:
        yield
    except DataError as exc:  # a value the database cannot hold (NUL in text, out of range)
        text = str(exc.orig) if exc.orig is not None else str(exc)
        first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
        raise UsageError(f"the database cannot store this input: {first}") from exc
    except OperationalError as exc:
        text = str(exc.orig) if exc.orig is not None else str(exc)
        first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
        if "locked" in first or "could not serialize" in first:
            raise Failure(f"the database is busy ({first}); try again") from exc
        if "no such table" in first or ("relation" in first and "does not exist" in first):
            raise Failure("the database has no clerk schema yet: run `clerk db upgrade`") from exc
        raise Failure(f"database error: {first}") from exc
