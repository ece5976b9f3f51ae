"""`clerk user add|list|password|unlock`."""

from __future__ import annotations

import sys

from clerk.commands import add_command, add_group, print_json
from clerk.errors import UsageError


def register(sub) -> None:
    from clerk.domain.codes import LANGUAGES, ROLES

    group = add_group(sub, "user", "user accounts (clerks, supervisors, administrators)")
    p = add_command(group, "add", "add a user; the password is asked twice, or read from stdin")
    p.add_argument("name")
    p.add_argument("--role", required=True, choices=ROLES)
    p.add_argument("--full-name", default="")
    p.add_argument("--language", choices=LANGUAGES, default=None)
    p.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of standard input",
    )
    p.set_defaults(func=add)
    p = add_command(group, "password", "set a user's password (unlocks the account)")
    p.add_argument("name")
    p.add_argument("--password-stdin", action="store_true")
    p.set_defaults(func=password)
    p = add_command(group, "list", "list users")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=list_)


def _read_password(from_stdin: bool, prompt: str = "Password: ", twice: bool = True) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        if not line:
            raise UsageError("no password on standard input")
        return line.rstrip("\r\n")
    if not sys.stdin.isatty():
        raise UsageError("no terminal to ask the password: use --password-stdin")
    import getpass

    first = getpass.getpass(prompt)
    if twice and getpass.getpass("Again: ") != first:
        raise UsageError("the two passwords differ; nothing changed")
    return first


def add(args, ctx) -> int:
    from clerk.domain.auth import SYSTEM, add_user, check_password, check_username

    check_username(args.name)
    pw = check_password(_read_password(args.password_stdin))
    ctx.db.require_current()
    user = add_user(
        ctx, SYSTEM, args.name, args.role, pw, full_name=args.full_name, language=args.language
    )
    print(f"user {user.username} added as {user.role}")
    return 0


def password(args, ctx) -> int:
    from clerk.domain.auth import SYSTEM, check_password, set_password

    pw = check_password(_read_password(args.password_stdin))
    ctx.db.require_current()
    set_password(ctx, SYSTEM, args.name.strip().lower(), pw)
    print(f"password of {args.name} changed")
    return 0


def list_(args, ctx) -> int:
    from clerk.domain.auth import list_users

    ctx.db.require_current()
    rows = list_users(ctx)
    if args.json:
        print_json(
            {
                "users": [
                    {"name": u, "role": r, "full_name": n, "active": a, "locked": lk}
                    for u, r, n, a, lk in rows
                ]
            }
        )
    else:
        for u, r, n, a, lk in rows:
            flags = ("" if a else " (inactive)") + (" (locked)" if lk else "")
            print(f"{u:<20} {r:<11} {n}{flags}")
    return 0
