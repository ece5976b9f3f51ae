"""PostgreSQL roles: the owner migrates, the clerks' role works and cannot rewrite the audit trail.

The role that runs `clerk db upgrade` owns the tables, so it could always drop the trigger that
keeps `auditevent` append-only. The clerks therefore connect as another login role, given by
`clerk db grant ROLE` (run by the owner) exactly what the app needs:

- USAGE on the schema;
- SELECT, INSERT, UPDATE, DELETE on every table of the owner in that schema, except:
- `auditevent` (the audit trail): SELECT, INSERT only; UPDATE, DELETE and TRUNCATE are revoked
  from the role and from PUBLIC;
- `audithead` (the chain's newest link, one row locked and moved on by every append):
  SELECT, INSERT, UPDATE (no DELETE, no TRUNCATE);
- `alembic_version`: SELECT (the app checks the schema version, only the owner migrates);
- USAGE, SELECT on the owner's sequences (the tables' ids).

Every table's privileges are first revoked from the role, then granted: the command is
idempotent and leaves exactly this set, so it is simply rerun after every upgrade (new tables).
It refuses a role that could undo the separation: the owner itself, a superuser, a member of the
owner or of the schema's owner, or a role with CREATEROLE (which could make itself a member).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from clerk.errors import Failure, Refused, UsageError

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from clerk.db import Database

AUDIT_TABLE = "auditevent"
HEAD_TABLE = "audithead"
VERSION_TABLE = "alembic_version"
READ_WRITE = ("SELECT", "INSERT", "UPDATE", "DELETE")
TABLE_PRIVILEGES = {
    AUDIT_TABLE: ("SELECT", "INSERT"),
    HEAD_TABLE: ("SELECT", "INSERT", "UPDATE"),
    VERSION_TABLE: ("SELECT",),
}
SEQUENCE_PRIVILEGES = ("USAGE", "SELECT")
# what the app role must not hold on the audit tables, whoever granted it (checked at the end)
FORBIDDEN = {
    AUDIT_TABLE: ("UPDATE", "DELETE", "TRUNCATE", "TRIGGER"),
    HEAD_TABLE: ("DELETE", "TRUNCATE", "TRIGGER"),
}
NAME_BYTES = 63  # PostgreSQL's NAMEDATALEN - 1
SQLITE_REFUSAL = "on SQLite the triggers guard the audit table; grant is for PostgreSQL"


@dataclass(frozen=True)
class Granted:
    role: str
    schema: str
    owner: str
    tables: dict[str, tuple[str, ...]] = field(default_factory=dict)
    sequences: int = 0
    can_login: bool = True

    def summary(self) -> list[str]:
        plain = sum(1 for privs in self.tables.values() if privs == READ_WRITE)
        lines = [
            f"granted {self.role} on schema {self.schema} (owner {self.owner}): "
            f"{plain} tables read/write, {self.sequences} sequences",
        ]
        for table in sorted(TABLE_PRIVILEGES):
            if table in self.tables:
                lines.append(f"  {table}: {', '.join(self.tables[table])} only")
        if not self.can_login:
            lines.append(f"note: {self.role} cannot log in (NOLOGIN): its members use it")
        lines.append("rerun this after every `clerk db upgrade` (and after a restore)")
        return lines


def check_role_name(role: str) -> str:
    if not role:
        raise UsageError("give the name of the app's PostgreSQL role")
    if "\x00" in role:
        raise UsageError("a PostgreSQL role name cannot contain NUL")
    if len(role.encode("utf-8")) > NAME_BYTES:
        raise UsageError(f"a PostgreSQL role name has at most {NAME_BYTES} bytes: {role!r}")
    if role.lower().startswith("pg_"):
        raise UsageError(f"{role!r} is a name reserved for PostgreSQL's predefined roles")
    return role


def _one(conn: Connection, query: str, **params):
    from sqlalchemy import text

    return conn.execute(text(query), params).first()


def _audit_table(conn: Connection):
    """(schema, table owner, schema owner, table oid, owner oid) of the audit table."""
    row = _one(
        conn,
        "SELECT n.nspname, pg_get_userbyid(c.relowner), pg_get_userbyid(n.nspowner), c.oid, "
        "c.relowner, n.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.oid = to_regclass(:name)",
        name=AUDIT_TABLE,
    )
    if row is None:
        raise Failure("the database has no clerk schema yet: run `clerk db upgrade`")
    return row


def _check_role(conn: Connection, role: str, owner: str, schema_owner: str):
    found = _one(
        conn,
        "SELECT rolsuper, rolcreaterole, rolcanlogin, "
        "pg_has_role(rolname, :owner, 'MEMBER'), pg_has_role(rolname, :schema_owner, 'MEMBER') "
        "FROM pg_roles WHERE rolname = :role",
        role=role,
        owner=owner,
        schema_owner=schema_owner,
    )
    if found is None:
        near = _one(conn, "SELECT rolname FROM pg_roles WHERE lower(rolname) = lower(:r)", r=role)
        hint = (
            f" (did you mean {near[0]!r}?)" if near else " (create it first: CREATE ROLE … LOGIN)"
        )
        raise UsageError(f"PostgreSQL role {role!r} does not exist{hint}")
    superuser, createrole, can_login, owner_member, schema_member = found
    if role == owner:
        raise Refused(
            f"{role} owns the clerk tables and could drop the audit trigger: "
            "the clerks need a role of their own"
        )
    if superuser:
        raise Refused(f"{role} is a superuser, which bypasses every privilege: use a plain role")
    if owner_member or schema_member:
        whose = owner if owner_member else schema_owner
        raise Refused(
            f"{role} is a member of {whose}, which owns the clerk tables or their schema: "
            "use a role outside it"
        )
    if createrole:
        raise Refused(
            f"{role} has CREATEROLE and could make itself a member of the owner: "
            f"ALTER ROLE {role} NOCREATEROLE first"
        )
    return can_login


def _check_grantor(conn: Connection, owner: str) -> None:
    me, superuser = _one(
        conn, "SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user"
    )
    if me != owner and not superuser:
        raise Refused(
            f"run `clerk db grant` as {owner}, the owner of the clerk tables "
            f"(the role that ran `clerk db upgrade`), not as {me}"
        )


def _owned_relations(conn: Connection, namespace: int, owner_oid: int):
    from sqlalchemy import text

    rows = conn.execute(
        text(
            "SELECT relname, relkind FROM pg_class WHERE relnamespace = :ns "
            "AND relowner = :owner AND relkind IN ('r', 'p', 'S') ORDER BY relname"
        ),
        {"ns": namespace, "owner": owner_oid},
    ).all()
    tables = [name for name, kind in rows if kind in ("r", "p")]
    sequences = [name for name, kind in rows if kind == "S"]
    return tables, sequences


def grant_app_role(db: Database, role: str) -> Granted:
    """Give `role` what the app needs and nothing that could alter the audit trail (one
    transaction: on any refusal nothing changed)."""
    import psycopg
    from psycopg import sql

    if db.is_sqlite:
        raise UsageError(SQLITE_REFUSAL)
    role = check_role_name(role)
    try:
        with db.write() as s:
            conn = s.connection()
            schema, owner, schema_owner, _, owner_oid, namespace = _audit_table(conn)
            _check_grantor(conn, owner)  # before the version check: only the owner may read it
            db.require_current()  # every table of the code's schema is there to be granted
            can_login = _check_role(conn, role, owner, schema_owner)
            tables, sequences = _owned_relations(conn, namespace, owner_oid)
            who = sql.Identifier(role)
            plan = {name: TABLE_PRIVILEGES.get(name, READ_WRITE) for name in tables}
            statements = [
                sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(sql.Identifier(schema), who)
            ]
            for privileges in sorted(set(plan.values())):
                names = [sql.Identifier(schema, t) for t, p in plan.items() if p == privileges]
                listed = sql.SQL(", ").join(names)
                statements.append(sql.SQL("REVOKE ALL ON TABLE {} FROM {}").format(listed, who))
                statements.append(
                    sql.SQL("GRANT {} ON TABLE {} TO {}").format(
                        sql.SQL(", ").join(sql.SQL(p) for p in privileges), listed, who
                    )
                )
            if sequences:
                listed = sql.SQL(", ").join(sql.Identifier(schema, q) for q in sequences)
                statements.append(sql.SQL("REVOKE ALL ON SEQUENCE {} FROM {}").format(listed, who))
                statements.append(
                    sql.SQL("GRANT USAGE, SELECT ON SEQUENCE {} TO {}").format(listed, who)
                )
            for table, privileges in FORBIDDEN.items():
                if table in plan:  # nobody at all gets them through PUBLIC
                    statements.append(
                        sql.SQL("REVOKE {} ON TABLE {} FROM PUBLIC").format(
                            sql.SQL(", ").join(sql.SQL(p) for p in privileges),
                            sql.Identifier(schema, table),
                        )
                    )
            raw = conn.connection.dbapi_connection
            with raw.cursor() as cur:
                for statement in statements:
                    cur.execute(statement)
            _check_forbidden(conn, role, schema)
    except psycopg.Error as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise Failure(f"PostgreSQL refused the grant: {first}") from None
    return Granted(role, schema, owner, plan, len(sequences), bool(can_login))


def _check_forbidden(conn: Connection, role: str, schema: str) -> None:
    """Whoever granted them (another grantor, a role it belongs to, PUBLIC), the role must end up
    without these; raising rolls the whole grant back."""
    from psycopg import sql

    raw = conn.connection.dbapi_connection
    for table, privileges in FORBIDDEN.items():
        qualified = sql.Identifier(schema, table).as_string(raw)
        for privilege in privileges:
            held = _one(
                conn,
                "SELECT has_table_privilege(:role, to_regclass(:t), :p)",
                role=role,
                t=qualified,
                p=privilege,
            )
            if held is not None and held[0]:
                raise Refused(
                    f"{role} still holds {privilege} on {table} through another grant "
                    "(a role it belongs to, or another grantor): revoke that first"
                )


def app_roles(db: Database) -> list[str]:
    """The roles (other than the owner) that may insert into the audit table: the app's roles a
    previous `clerk db grant` set up."""
    from sqlalchemy import text

    if db.is_sqlite:
        return []
    with db.read() as s:
        return list(
            s.execute(
                text(
                    "SELECT DISTINCT r.rolname FROM pg_class c, aclexplode(c.relacl) a "
                    "JOIN pg_roles r ON r.oid = a.grantee "
                    "WHERE c.oid = to_regclass(:name) AND a.privilege_type = 'INSERT' "
                    "AND a.grantee <> c.relowner ORDER BY 1"
                ),
                {"name": AUDIT_TABLE},
            ).scalars()
        )


def grant_reminder(db: Database) -> str:
    """One line for after an upgrade or a restore on PostgreSQL."""
    roles = app_roles(db)
    if roles:
        commands = "; ".join(f"clerk db grant {shlex.quote(r)}" for r in roles)
        return f"PostgreSQL: rerun `{commands}` so the clerks' role can use new tables"
    return (
        "PostgreSQL: give the clerks' login role its privileges with `clerk db grant ROLE` "
        "(rerun it after every upgrade)"
    )
