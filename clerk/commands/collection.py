"""`clerk applications …` and `clerk collect …`: production batches and document collection.

JSON contract (scripts, kiosks and display boards depend on these keys):
  collect lookup CODE --json     → {"receipt","application","status","name","counter",
                                    "promised_on","collected_at","message"}
                                    status: lodged | in-production | ready | collected |
                                    cancelled | void; counter: the collection counter (ready only)
  collect uncollected [--days N] --json
                                 → {"days":N,"applications":[{"application","receipt","status",
                                    "id_number","name","case","lodged_on","promised_on",
                                    "ready_on","counter","days_waiting","phone"}]}
  applications ready|production [CODE…] [--file LIST] --json
                                 → {"changed":N,"failed":N,"lines":[{"line","code","ok",
                                    "changed","application","status","message"}]}
  applications list --status S --json
                                 → {"status":S,"applications":[{…as above, no days_waiting}]}
  applications cancel CODE --reason TEXT [--json]
A CODE is a receipt number (14 digits, check digits verified) or an application number (12
digits). A LIST file holds one code a line; blank lines and lines starting with # are skipped; a
line that cannot be matched is reported (exit 2) and the others still go through. The command
line acts as the system user (the office's IT person or a kiosk).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from clerk.commands import add_command, add_group, print_json
from clerk.errors import UsageError

if TYPE_CHECKING:
    from clerk.domain.collection import ApplicationRow, BatchLine


def register(sub) -> None:
    apps = add_group(sub, "applications", "applications: production batches, ready cards, lists")
    for name, help in (
        ("ready", "mark applications ready: their cards came back from production"),
        ("production", "mark paid applications in production"),
    ):
        p = add_command(apps, name, help)
        p.add_argument("codes", nargs="*", metavar="CODE", help="receipt or application numbers")
        p.add_argument("--file", metavar="LIST", help="a file of receipt numbers, one a line")
        p.add_argument("--json", action="store_true")
        p.set_defaults(func=batch, target=name)

    p = add_command(apps, "list", "the office's applications in one status")
    p.add_argument(
        "--status",
        required=True,
        choices=("lodged", "in-production", "ready", "collected", "cancelled"),
    )
    p.add_argument("--limit", type=int, default=500, metavar="N")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=list_applications)

    p = add_command(apps, "cancel", "cancel a lodged application (no card will be collected)")
    p.add_argument("code", metavar="CODE")
    p.add_argument("--reason", required=True, metavar="TEXT")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cancel)

    collect = add_group(sub, "collect", "document collection: look a receipt up, uncollected cards")
    p = add_command(
        collect, "lookup", "a receipt scanned or typed: status, name and counter to go to"
    )
    p.add_argument("code", metavar="CODE")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=lookup)

    p = add_command(collect, "uncollected", "ready cards not collected after N days")
    p.add_argument(
        "--days", type=int, metavar="N", help="default: collection.uncollected_after_days"
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=uncollected)


def _system(ctx):
    from clerk.domain.auth import SYSTEM

    ctx.db.require_current()
    return SYSTEM


def _codes(args) -> list[str]:
    codes = list(args.codes)
    if args.file:
        from pathlib import Path

        path = Path(args.file)
        try:
            text = sys.stdin.read() if args.file == "-" else path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise UsageError(f"{path} does not exist") from None
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or exc
            raise UsageError(f"cannot read {path}: {reason}") from None
        codes += text.splitlines()
    if not any(code.strip() and not code.strip().startswith("#") for code in codes):
        raise UsageError("give receipt numbers (CODE …) or a file of them (--file LIST)")
    return codes


def batch(args, ctx) -> int:
    from clerk.domain import collection

    actor = _system(ctx)
    fn = collection.mark_ready if args.target == "ready" else collection.mark_in_production
    lines = fn(ctx, actor, _codes(args), source=f"cli:{args.file or 'arguments'}")
    failed = [line for line in lines if not line.ok]
    changed = sum(line.changed for line in lines)
    if args.json:
        print_json(
            {
                "changed": changed,
                "failed": len(failed),
                "lines": [line.as_json() for line in lines],
            }
        )
    else:
        for line in lines:
            _print_line(line)
        print(f"{changed} marked {args.target.replace('production', 'in production')}", end="")
        print(f", {len(failed)} not matched" if failed else "")
    return 2 if failed else 0


def _print_line(line: BatchLine) -> None:
    if line.changed:
        print(f"{line.line:>4}  {line.code}  {line.application} → {line.status}")
    else:
        where = f" ({line.application}, {line.status})" if line.application else ""
        out = sys.stdout if line.ok else sys.stderr
        print(f"{line.line:>4}  {line.code}  {line.message}{where}", file=out)


def _print_rows(rows: list[ApplicationRow], *, waiting: bool = False) -> None:
    for r in rows:
        extra = f"  {r.days_waiting:>3} days" if waiting else ""
        ready = r.ready_on.isoformat() if r.ready_on else "—"
        counter = f"counter {r.counter}" if r.counter is not None else ""
        print(f"{r.number}  {r.receipt or '—':<14}  {r.status:<13}  {ready}  {r.name}"
              f"  {counter}{extra}")  # fmt: skip


def list_applications(args, ctx) -> int:
    from clerk.domain import collection

    rows = collection.list_applications(ctx, _system(ctx), args.status, limit=args.limit)
    if args.json:
        print_json({"status": args.status, "applications": [r.as_json() for r in rows]})
        return 0
    _print_rows(rows)
    if not rows:
        print(f"no applications {args.status}", file=sys.stderr)
    return 0


def cancel(args, ctx) -> int:
    from clerk.domain import collection

    done = collection.cancel_application(ctx, _system(ctx), args.code, args.reason)
    if args.json:
        print_json(done.as_json())
    else:
        print(f"{done.application} cancelled")
    return 0


def lookup(args, ctx) -> int:
    from clerk.domain import collection

    ctx.db.require_current()
    found = collection.lookup(ctx, args.code)
    if args.json:
        print_json(found.as_json())
    elif found.ready and found.counter is not None:
        print(f"{found.name} → counter {found.counter}")
    else:
        print(f"{found.receipt}  {found.name}: {found.message}")
    return 0


def uncollected(args, ctx) -> int:
    from clerk.domain import collection

    actor = _system(ctx)
    days = args.days if args.days is not None else collection.settings(ctx).uncollected_after_days
    if days < 0:
        raise UsageError("--days must be 0 or more")
    rows = collection.uncollected(ctx, actor, days)
    if args.json:
        print_json({"days": days, "applications": [r.as_json() for r in rows]})
        return 0
    _print_rows(rows, waiting=True)
    if not rows:
        print(f"no card has waited {days} days or more", file=sys.stderr)
    return 0
