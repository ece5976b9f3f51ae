"""`clerk db upgrade|backup PATH|restore PATH|check`."""

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


def upgrade(args, ctx) -> int:
    before, after = ctx.db.upgrade()
    if before == after:
        print(f"database is up to date (schema {after})")
    else:
        print(f"database upgraded from {before or 'empty'} to {after}")
    return 0


def backup(args, ctx) -> int:
    ctx.db.require_current()
    path = ctx.db.backup(args.path)
    print(f"backup written to {path}")
    return 0


def restore(args, ctx) -> int:
    import sys

    from clerk.errors import UsageError

    if not args.yes:
        if not sys.stdin.isatty():
            raise UsageError("restore replaces all data: add --yes to confirm")
        answer = input(f"Replace the database {ctx.db_url} with {args.path}? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            print("nothing changed")
            return 0
    ctx.db.restore(args.path)
    ctx.db.require_current()
    print(f"database restored from {args.path}")
    return 0


def check(args, ctx) -> int:
    current, head = ctx.db.current_revision(), ctx.db.head_revision()
    print(f"schema: {current or 'none'} (program needs {head})")
    print(f"integrity: {ctx.db.integrity_check()}")
    return 0 if current == head else 1
