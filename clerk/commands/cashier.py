"""`clerk receipt …` and `clerk drawer …`: receipts and cash drawers from a script.

JSON contract (scripts and kiosks depend on these keys; amounts are strings with two decimals):
  receipt list --json   → {"receipts":[{"number","application","total","status"}]}
  receipt check --json  → {"number","valid":true,"office","day","sequence"}
  receipt print --json  → {"number","copy","where"}
  drawer status --json  → {"day","drawers":[{"session","clerk","status","variance"}]}
The command line acts as the system user (the office's IT person): it reads, renders and prints;
money is taken at the counter only.
"""

from __future__ import annotations

import sys

from clerk.commands import add_command, add_group, print_json


def register(sub) -> None:
    receipt = add_group(sub, "receipt", "receipts: check a number, list a day, render, print")
    p = add_command(receipt, "check", "check a receipt number's check digits (typed or scanned)")
    p.add_argument("code", metavar="CODE")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=check)

    p = add_command(receipt, "list", "the office's receipts of a day (default today)")
    p.add_argument("--day", metavar="YYYY-MM-DD")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=list_receipts)

    p = add_command(receipt, "render", "write a receipt's PDF (a COPY once it was printed)")
    p.add_argument("number", metavar="NUMBER")
    p.add_argument("--out", required=True, metavar="FILE.pdf")
    p.set_defaults(func=render)

    p = add_command(
        receipt, "print", "print a receipt on the configured printer (a reprint is a COPY)"
    )
    p.add_argument("number", metavar="NUMBER")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=print_receipt)

    drawer = add_group(sub, "drawer", "cash drawers: the day's sessions and their Z reports")
    p = add_command(drawer, "status", "the drawer sessions of a day (default today)")
    p.add_argument("--day", metavar="YYYY-MM-DD")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=drawer_status)

    p = add_command(drawer, "report", "write the Z report of a counted or closed session")
    p.add_argument("session", type=int, metavar="SESSION")
    p.add_argument("--out", required=True, metavar="FILE.pdf")
    p.set_defaults(func=z_report)


def _ready(ctx):
    from clerk.domain.auth import SYSTEM

    ctx.db.require_current()
    return SYSTEM


def _day(text: str | None):
    if text is None:
        return None
    from clerk.domain.policy.facts import parse_date

    return parse_date(text, "--day")


def _write(path: str, pdf: bytes) -> None:
    from pathlib import Path

    from clerk.errors import Failure

    target = Path(path)
    try:
        target.write_bytes(pdf)
    except OSError as exc:
        raise Failure(f"cannot write {target}: {exc.strerror}") from None


def check(args, ctx) -> int:
    from clerk.domain.receipts import check_receipt_number

    found = check_receipt_number(args.code)
    if args.json:
        print_json(
            {
                "number": found.number,
                "valid": True,
                "office": found.office_code,
                "day": found.day.isoformat(),
                "sequence": found.sequence,
            }
        )
    else:
        print(
            f"{found.number} is valid: office {found.office_code}, "
            f"{found.day.isoformat()}, receipt {found.sequence}"
        )
    return 0


def list_receipts(args, ctx) -> int:
    from clerk.domain import cashier
    from clerk.domain.policy import format_avos

    rows = cashier.list_receipts(ctx, _ready(ctx), _day(args.day))
    if args.json:
        print_json(
            {
                "receipts": [
                    {
                        "number": r.number,
                        "application": r.application,
                        "total": format_avos(r.total_avos),
                        "status": r.status,
                    }
                    for r in rows
                ]
            }
        )
        return 0
    for r in rows:
        print(f"{r.number}  {r.application:<12}  {format_avos(r.total_avos):>9}  {r.status}")
    if not rows:
        print("no receipts", file=sys.stderr)
    return 0


def render(args, ctx) -> int:
    from clerk.domain import cashier

    done = cashier.render_receipt(ctx, _ready(ctx), args.number)
    _write(args.out, done.pdf)
    for warning in done.warnings:
        print(f"clerk: warning: {warning}", file=sys.stderr)
    print(f"{done.number} → {args.out}{' (COPY)' if done.copy else ''}")
    return 0


def print_receipt(args, ctx) -> int:
    from clerk.domain import cashier

    done = cashier.print_receipt(ctx, _ready(ctx), args.number)
    for warning in done.warnings:
        print(f"clerk: warning: {warning}", file=sys.stderr)
    if args.json:
        print_json({"number": done.number, "copy": done.copy, "where": done.where})
    else:
        print(f"{done.number} printed{' (COPY)' if done.copy else ''}: {done.where}")
    return 0


def drawer_status(args, ctx) -> int:
    from clerk.domain import cashier
    from clerk.domain.policy import format_avos

    actor = _ready(ctx)
    day = _day(args.day) or ctx.today()
    rows = cashier.sessions_of_day(ctx, actor, day)
    if args.json:
        print_json(
            {
                "day": day.isoformat(),
                "drawers": [
                    {
                        "session": sid,
                        "clerk": user,
                        "status": status,
                        "variance": format_avos(variance),
                    }
                    for sid, user, status, variance in rows
                ],
            }
        )
        return 0
    for sid, user, status, variance in rows:
        print(f"#{sid:<5} {user:<16} {status:<8} {format_avos(variance):>9}")
    if not rows:
        print(f"no drawer sessions on {day.isoformat()}", file=sys.stderr)
    return 0


def z_report(args, ctx) -> int:
    from clerk.documents.z_report import render_z_report
    from clerk.domain import cashier

    data = cashier.z_report(ctx, _ready(ctx), args.session)
    _write(args.out, render_z_report(data))
    print(f"Z report of session {data.session_id} → {args.out}")
    return 0
