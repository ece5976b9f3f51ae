"""`clerk db upgrade|backup PATH|restore PATH|check|grant ROLE`."""

from __future__ import annotations

from clerk.commands import add_command, add_group


def register(sub) -> None:
    group = add_group(sub, "db", "database schema, backup and restore")
    add_command(
        group, "upgrade", "apply pending schema migrations (a no-op when up to date)"
    ).set_defaults(func=upgrade)
    p = add_command(group, "backup", "write an online, consistent copy of the database")
    p.add_argument("path", metavar="PATH")
    p.set_defaults(func=backup)
    p = add_command(group, "restore", "replace the database with a backup (stop the clerks first)")
    p.add_argument("path", metavar="PATH")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.set_defaults(func=restore)
    add_command(group, "check", "show the schema version and run an integrity check").set_defaults(
        func=check
    )
    p = add_command(
        group,
        "grant",
        "PostgreSQL: give the clerks' login role what the app needs, the audit trail "
        "append-only (run as the owner; rerun after every upgrade)",
    )
    p.add_argument("role", metavar="ROLE", help="an existing PostgreSQL role")
    p.set_defaults(func=grant)


def upgrade(args, ctx) -> int:
    before, after = ctx.db.upgrade()
    if before == after:
        print(f"database is up to date (schema {after})")
    else:
        print(f"database upgraded from {before or 'empty'} to {after}")
        if not ctx.db.is_sqlite:
            from clerk.pg_roles import grant_reminder

            print(grant_reminder(ctx.db))
    return 0


def backup(args, ctx) -> int:
    ctx.db.require_current()
    path = ctx.db.backup(args.path)
    print(f"backup written to {path}")
    return 0


def restore(args, ctx) -> int:
    import sys

    from clerk.errors import UsageError

    key = ctx.audit_key  # before anything changes: without the key the restore is not recorded
    if not args.yes:
        if not sys.stdin.isatty():
            raise UsageError("restore replaces all data: add --yes to confirm")
        answer = input(f"Replace the database {ctx.db_url} with {args.path}? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            print("nothing changed")
            return 0
    ctx.db.restore(args.path)
    ctx.db.require_current()
    _record_restore(ctx, key, args.path)
    print(f"database restored from {args.path}")
    if not ctx.db.is_sqlite:
        from clerk.pg_roles import grant_reminder

        print(grant_reminder(ctx.db))
    return 0


def _os_user() -> str:
    import getpass
    import os

    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container) and no LOGNAME/USER
        return f"uid {os.getuid()}"


def _record_restore(ctx, key: bytes, path: str) -> None:
    """The restored database's own trail says it was restored, from which file, by whom: the
    command line acts as `system` at terminal "cli"; the OS account is in the event."""
    from pathlib import Path

    from clerk.domain import audit
    from clerk.domain.auth import SYSTEM

    after = {"from": Path(path).name, "os_user": _os_user()}
    with ctx.db.write() as s:
        audit.append(s, key, SYSTEM, "db.restore", after=after)


def check(args, ctx) -> int:
    current, head = ctx.db.current_revision(), ctx.db.head_revision()
    print(f"schema: {current or 'none'} (program needs {head})")
    print(f"integrity: {ctx.db.integrity_check()}")
    return 0 if current == head else 1


def grant(args, ctx) -> int:
    from clerk.errors import UsageError
    from clerk.pg_roles import SQLITE_REFUSAL, grant_app_role

    if ctx.db.is_sqlite:
        raise UsageError(SQLITE_REFUSAL)
    for line in grant_app_role(ctx.db, args.role).summary():
        print(line)
    return 0
