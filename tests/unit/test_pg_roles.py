"""`clerk db grant ROLE` on the suite's real PostgreSQL: the owner migrates, the clerks' role works
and cannot alter, delete, truncate or un-guard the audit trail.

Each test gets a database owned by a plain login role of its own (not a superuser, as in an
office) and an app role of its own: the cluster is shared by the whole run, so the names are
unique, and the database and the roles are dropped afterwards. The suite's server trusts local
socket connections, so the roles need no password.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import make_url
from sqlmodel import func, select

from clerk.cli import main
from clerk.context import Context
from clerk.domain import audit, queue
from clerk.domain.auth import SYSTEM, Actor, add_user
from clerk.domain.models import AuditEvent
from clerk.pg_roles import grant_reminder
from tests.unit import test_queue as shared

clock = shared.clock

FORBIDDEN_TO_THE_APP = [
    "UPDATE auditevent SET action = 'edited'",
    "DELETE FROM auditevent",
    "TRUNCATE auditevent",
    "DROP TRIGGER auditevent_append_only ON auditevent",
    "DROP TRIGGER auditevent_no_truncate ON auditevent",
    "ALTER TABLE auditevent DISABLE TRIGGER ALL",
    "DROP TABLE auditevent",
    "DROP FUNCTION clerk_audit_append_only() CASCADE",
    "DELETE FROM audithead",
    "TRUNCATE audithead",
    "UPDATE alembic_version SET version_num = 'x'",
]


@dataclass
class Cluster:
    """A database owned by `owner`, an app role `app`, URLs for both, and a superuser door."""

    server: object
    database: str
    owner: str
    app: str
    roles: list[str] = field(default_factory=list)
    contexts: list[Context] = field(default_factory=list)

    def url(self, user: str) -> str:
        base = make_url(self.server.url(self.database))
        return base.set(username=user).render_as_string(hide_password=False)

    def connect(self, user: str = "postgres", database: str | None = None, **kw):
        return psycopg.connect(
            host=str(self.server.folder),
            port=self.server.port,
            user=user,
            dbname=database or self.database,
            **kw,
        )

    def admin(self, statement, *, database: str = "postgres") -> None:
        with self.connect(database=database, autocommit=True) as conn:
            conn.execute(statement)

    def create_role(self, name: str, options: str = "LOGIN") -> str:
        self.admin(sql.SQL("CREATE ROLE {} " + options).format(sql.Identifier(name)))
        self.roles.append(name)
        return name

    def ctx(self, user: str) -> Context:
        c = Context(db_url=self.url(user))
        self.contexts.append(c)
        return c

    def cli(self, user: str, *args: str, capsys) -> tuple[int, str, str]:
        code = main(["--db", self.url(user), *args])
        out, err = capsys.readouterr()
        return code, out, err

    def app_may(self, table: str, privilege: str, role: str | None = None) -> bool:
        with self.connect() as conn:
            return conn.execute(
                "SELECT has_table_privilege(%s, %s, %s)", (role or self.app, table, privilege)
            ).fetchone()[0]


@pytest.fixture
def cluster(pg_server):
    tag = uuid.uuid4().hex[:10]
    c = Cluster(pg_server, f"t_roles_{tag}", f"clerk_owner_{tag}", f"clerk_app_{tag}")
    c.create_role(c.owner)
    c.create_role(c.app)
    c.admin(
        sql.SQL("CREATE DATABASE {} OWNER {}").format(
            sql.Identifier(c.database), sql.Identifier(c.owner)
        )
    )
    try:
        yield c
    finally:
        for ctx in c.contexts:
            ctx.close()
        c.admin(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(c.database))
        )
        for role in reversed(c.roles):  # its privileges went with the database
            c.admin(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


@pytest.fixture
def granted(cluster, capsys):
    """Upgraded by the owner, then `clerk db grant APP` run by the owner."""
    code, out, err = cluster.cli(cluster.owner, "db", "upgrade", capsys=capsys)
    assert code == 0, err
    assert "database upgraded from empty" in out
    assert "`clerk db grant ROLE`" in out  # the PostgreSQL reminder (no app role yet)
    code, out, err = cluster.cli(cluster.owner, "db", "grant", cluster.app, capsys=capsys)
    assert (code, err) == (0, "")
    assert f"granted {cluster.app} on schema public (owner {cluster.owner})" in out
    assert "auditevent: SELECT, INSERT only" in out
    assert "audithead: SELECT, INSERT, UPDATE only" in out
    assert "rerun this after every `clerk db upgrade`" in out
    return cluster


def audit_rows(ctx) -> int:
    with ctx.db.read() as s:
        return s.exec(select(func.count()).select_from(AuditEvent)).one()


def test_the_app_role_works_and_cannot_touch_the_audit_trail(granted, clock):
    c = granted
    shared.make_office(c.ctx(c.owner))
    app = c.ctx(c.app)
    app.db.require_current()  # reads alembic_version
    # the clerks' work through the services: tags (sequences, daily counters, events), users,
    # a counter's services (a delete and inserts), each with its audit event
    assert queue.issue_tag(app, SYSTEM, "A").tag == "A001"
    assert queue.issue_tag(app, SYSTEM, "P").tag == "P001"
    assert queue.call_next(app, SYSTEM, 1).code == "P001"
    queue.set_counter_services(app, SYSTEM, 2, ["B"])
    add_user(app, SYSTEM, "ana", "clerk", "password-1")
    where = Actor(user_id=None, username="ana", role="clerk", counter=3, terminal="ssh:10.0.0.7")
    with app.db.write() as s:
        audit.append(s, app.audit_key, where, "test.by_app", after={"ok": True})
    events = audit_rows(app)
    assert events >= 5
    with app.db.read() as s:
        chain = audit.verify(s, app.audit_key)
    assert chain.ok and chain.checked == events

    with c.connect(c.app, autocommit=True) as conn:
        for statement in FORBIDDEN_TO_THE_APP:
            with pytest.raises(psycopg.errors.InsufficientPrivilege) as refused:
                conn.execute(statement)
            assert "permission denied" in str(refused.value) or "must be owner" in str(
                refused.value
            ), statement
        # the app may move the head on (every append does) but not empty it
        conn.execute("SELECT seq FROM audithead WHERE id = 1 FOR UPDATE")
    with app.db.read() as s:
        chain = audit.verify(s, app.audit_key)
    assert chain.ok and chain.checked == events == audit_rows(app)

    # what the separation is for: the owner can take the trigger away (rolled back here)
    with c.connect(c.owner) as conn:
        conn.execute("DROP TRIGGER auditevent_append_only ON auditevent")
        conn.execute("DELETE FROM auditevent")
        conn.rollback()
    assert audit_rows(app) == events


def test_grant_is_idempotent_and_picks_up_new_tables(granted, capsys):
    c = granted
    matrix = {
        (table, privilege): c.app_may(table, privilege)
        for table in ("auditevent", "audithead", "tag", "alembic_version")
        for privilege in ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE")
    }
    assert matrix[("auditevent", "INSERT")] and not matrix[("auditevent", "UPDATE")]
    assert matrix[("audithead", "UPDATE")] and not matrix[("audithead", "DELETE")]
    assert matrix[("tag", "DELETE")] and not matrix[("tag", "TRUNCATE")]
    assert matrix[("alembic_version", "SELECT")] and not matrix[("alembic_version", "UPDATE")]
    # a later migration adds a table; a hand-made grant went too far
    with c.connect(c.owner, autocommit=True) as conn:
        conn.execute("CREATE TABLE newthing (id serial PRIMARY KEY, note text)")
        conn.execute(sql.SQL("GRANT DELETE ON audithead TO {}").format(sql.Identifier(c.app)))
    assert not c.app_may("newthing", "INSERT") and c.app_may("audithead", "DELETE")
    assert f"clerk db grant {c.app}" in grant_reminder(c.ctx(c.owner).db)
    code, out, err = c.cli(c.owner, "db", "grant", c.app, capsys=capsys)
    assert (code, err) == (0, "")
    assert c.app_may("newthing", "INSERT") and not c.app_may("audithead", "DELETE")
    with c.connect(c.app, autocommit=True) as conn:
        conn.execute("INSERT INTO newthing (note) VALUES ('x')")  # its sequence too
    assert all(c.app_may(t, p) == held for (t, p), held in matrix.items())


def test_a_role_name_is_quoted_never_spliced(cluster, capsys):
    c = cluster
    assert c.cli(c.owner, "db", "upgrade", capsys=capsys)[0] == 0
    odd = c.create_role(f'Clerk "App" {c.app[-10:]}; DROP TABLE auditevent; --')
    code, out, err = c.cli(c.owner, "db", "grant", odd, capsys=capsys)
    assert (code, err) == (0, "")
    assert c.app_may("tag", "INSERT", odd) and not c.app_may("auditevent", "UPDATE", odd)
    with c.connect() as conn:
        assert conn.execute("SELECT to_regclass('auditevent') IS NOT NULL").fetchone()[0]


def test_refusals_change_nothing(cluster, capsys):
    c = cluster
    code, _, err = c.cli(c.owner, "db", "grant", c.app, capsys=capsys)
    assert code == 1 and "clerk db upgrade" in err  # no schema yet
    assert c.cli(c.owner, "db", "upgrade", capsys=capsys)[0] == 0
    member = c.create_role(f"{c.app}_m", f"LOGIN IN ROLE {sql.Identifier(c.owner).as_string()}")
    maker = c.create_role(f"{c.app}_c", "LOGIN CREATEROLE")
    group = c.create_role(f"{c.app}_g", "NOLOGIN")
    with c.connect(c.owner, autocommit=True) as conn:
        conn.execute(sql.SQL("GRANT UPDATE ON auditevent TO {}").format(sql.Identifier(group)))
    leaky = c.create_role(f"{c.app}_l", f"LOGIN IN ROLE {sql.Identifier(group).as_string()}")
    cases = [
        (c.owner, "nobody_" + c.app, 2, "does not exist (create it first"),
        (c.owner, c.app.upper(), 2, f"does not exist (did you mean '{c.app}'?)"),
        (c.owner, c.owner, 2, "owns the clerk tables and could drop the audit trigger"),
        (c.owner, "postgres", 2, "postgres is a superuser"),
        (c.owner, member, 2, f"is a member of {c.owner}"),
        (c.owner, maker, 2, "has CREATEROLE"),
        (c.owner, leaky, 2, "still holds UPDATE on auditevent through another grant"),
        (c.owner, "pg_monitor", 2, "reserved for PostgreSQL's predefined roles"),
        (c.owner, "", 2, "give the name of the app's PostgreSQL role"),
        (c.owner, "x" * 64, 2, "at most 63 bytes"),
        (c.app, c.app, 2, f"run `clerk db grant` as {c.owner}"),
    ]
    for user, role, exit_code, needle in cases:
        code, out, err = c.cli(user, "db", "grant", role, capsys=capsys)
        assert (code, out) == (exit_code, ""), (role, err)
        assert needle in err and err.count("\n") == 1, (role, err)
    for role in (c.app, maker, leaky):  # (the owner's member has the owner's rights anyway)
        assert not c.app_may("tag", "SELECT", role), role  # nothing was granted to anyone
    assert not c.app_may("auditevent", "INSERT", leaky)


def test_sqlite_refuses_grant(tmp_path, capsys):
    path = tmp_path / "clerk.db"
    code = main(["--db", f"sqlite:///{path}", "db", "grant", "clerk_app"])
    out, err = capsys.readouterr()
    assert (code, out) == (2, "")
    assert err == ("clerk: on SQLite the triggers guard the audit table; grant is for PostgreSQL\n")
    assert not path.exists()  # nothing created, nothing changed
    assert main(["--db", f"sqlite:///{path}", "db", "upgrade"]) == 0
    out = capsys.readouterr().out
    assert "PostgreSQL" not in out  # no reminder on SQLite
    assert main(["--db", f"sqlite:///{path}", "db", "grant", "clerk_app"]) == 2


def test_an_app_role_without_grants_is_told_to_ask_the_owner(cluster, capsys):
    code, _out, err = cluster.cli(cluster.owner, "db", "upgrade", capsys=capsys)
    assert code == 0, err
    # before `clerk db grant`, the app role cannot read the schema: not "run db upgrade"
    code, _out, err = cluster.cli(cluster.app, "db", "check", capsys=capsys)
    assert code != 0
    assert "clerk db grant ROLE" in err
    assert "db upgrade" not in err
