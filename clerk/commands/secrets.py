"""`clerk secrets set|check NAME`: where each secret comes from; values are never printed."""

from __future__ import annotations

import sys

from clerk.commands import add_command, add_group, print_json


def register(sub) -> None:

    group = add_group(sub, "secrets", "secrets (audit key, database password, card PIN)")
    p = add_command(
        group,
        "check",
        "say where each secret is found (never its value); exit 1 if one named is missing",
    )
    p.add_argument("names", nargs="*", metavar="NAME")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=check)
    p = add_command(
        group,
        "set",
        "store a secret read from standard input (first line) in the "
        "owner-only secrets folder, or in the OS keyring",
    )
    p.add_argument("name", metavar="NAME")
    p.add_argument("--keyring", action="store_true", help="store in the OS keyring instead")
    p.set_defaults(func=set_)


def check(args, ctx) -> int:
    from clerk.secrets import KNOWN, lookup

    names = [n.upper().replace("-", "_") for n in args.names] or list(KNOWN)
    rows = []
    for name in names:
        value, where, looked = lookup(name, ctx.config)
        rows.append({"name": name, "set": value is not None, "where": where, "looked": looked})
    if args.json:
        print_json({"secrets": rows})
    else:
        for row in rows:
            state = (
                f"set ({row['where']})"
                if row["set"]
                else f"missing (looked in {', '.join(row['looked'])})"
            )
            print(f"{row['name']:<16} {state}")
    return 0 if all(r["set"] for r in rows if args.names) else 1


def set_(args, ctx) -> int:
    from clerk.errors import UsageError
    from clerk.secrets import store_in_keyring, store_secret_file

    line = sys.stdin.readline().rstrip("\r\n")
    if not line:
        raise UsageError("no secret on standard input (give it on the first line)")
    if args.keyring:
        store_in_keyring(args.name, line)
        print(f"{args.name.upper()} stored in the OS keyring")
    else:
        path = store_secret_file(args.name, line, ctx.config)
        print(f"{args.name.upper()} stored in {path} (owner-only)")
    return 0
