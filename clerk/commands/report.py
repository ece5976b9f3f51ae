"""`clerk report …`, `clerk approvals …` and `clerk audit show`: the supervisor's desk from a
script.

  clerk report takings|queue|applications|cards|daily [--from D] [--to D]
               [--format pdf|csv|json] [--out FILE]
  clerk approvals list [--json]
  clerk approvals approve ID --as USER [--reason TEXT] [--password-stdin]
  clerk approvals refuse ID --as USER --reason TEXT [--password-stdin]
  clerk audit show [--user NAME] [--action A] [--from D] [--to D] [--limit N] [--json]

JSON contract (amounts are strings with two decimals, durations whole seconds, dates ISO):
  report → {"report","office","from","to","generated_at","figures":{…},
            "tables":{KEY:{"columns":[…],"rows":[[…]],"total":[…]|null,"truncated":bool}},
            "audit":{"seq","hash"}|null}
  approvals list → {"requests":[{"id","kind","subject","detail","amount","reason",
                                  "requested_by","requested_at"}]}
  audit show → {"events":[{"id","at","user","counter","terminal","action","subject_type",
                           "subject_id","before","after"}]}
CSV: every table as a block — a line with the table's key, its header line, its rows (and a
"total" line), then an empty line.

Reports and the audit trail are read as the system user (the office's IT person); a decision on a
request needs a supervisor's own name and password (`--as`), checked and audited like a password
typed at a counter.
"""

from __future__ import annotations

import sys

from clerk.commands import add_command, add_group, print_json


def register(sub) -> None:
    from clerk.domain.codes import REPORTS

    p = add_command(sub, "report", "the supervisor's reports as PDF, CSV or JSON")
    p.add_argument("name", choices=REPORTS, metavar="NAME", help=" | ".join(REPORTS))
    p.add_argument("--from", dest="start", metavar="YYYY-MM-DD", help="first day (default: 1st)")
    p.add_argument("--to", dest="end", metavar="YYYY-MM-DD", help="last day (default: today)")
    p.add_argument("--format", choices=("pdf", "csv", "json"), default="json")
    p.add_argument("--out", metavar="FILE", help="write here (a PDF needs it); default stdout")
    p.set_defaults(func=report)

    group = add_group(sub, "approvals", "what waits for a supervisor: list, approve, refuse")
    p = add_command(group, "list", "the requests waiting for a supervisor, oldest first")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=list_requests)
    for name, helptext in (
        ("approve", "approve one request (the service it allows runs now)"),
        ("refuse", "refuse one request (a reason is required)"),
    ):
        p = add_command(group, name, helptext)
        p.add_argument("id", type=int, metavar="ID")
        p.add_argument("--as", dest="supervisor", required=True, metavar="USER")
        p.add_argument("--reason", default="", required=name == "refuse")
        p.add_argument("--password-stdin", action="store_true")
        p.add_argument("--json", action="store_true")
        p.set_defaults(func=decide, approve=name == "approve")


def add_audit_show(group) -> None:
    """`clerk audit show` (added to the audit group of `clerk.commands.config`)."""
    p = add_command(group, "show", "audit events, newest first, filtered")
    p.add_argument("--user", default="", metavar="NAME")
    p.add_argument("--action", default="", help="exact, or a prefix ending in . or *")
    p.add_argument("--from", dest="start", metavar="YYYY-MM-DD")
    p.add_argument("--to", dest="end", metavar="YYYY-MM-DD")
    p.add_argument("--limit", type=int, default=100)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=audit_show)


def _ready(ctx):
    from clerk.domain.auth import SYSTEM

    ctx.db.require_current()
    return SYSTEM


# --- reports ------------------------------------------------------------------------------------


def report(args, ctx) -> int:
    from clerk.domain import reports
    from clerk.errors import UsageError

    if args.format == "pdf" and not args.out:
        raise UsageError("a PDF report needs --out FILE.pdf")
    data = reports.build(ctx, _ready(ctx), args.name, args.start, args.end)
    from clerk.commands.cashier import _write

    if args.format == "pdf":
        from clerk.documents.report_pdf import render_report

        _write(args.out, render_report(data))
        print(f"{args.name} report {data.start}..{data.end} written to {args.out}")
        return 0
    text = reports.as_csv(data) if args.format == "csv" else _json_text(reports.as_json(data))
    if args.out:
        _write(args.out, text.encode("utf-8"))
    else:
        sys.stdout.write(text)
    return 0


def _json_text(obj) -> str:
    import json

    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n"


# --- approvals ----------------------------------------------------------------------------------


def _request_json(r) -> dict:
    from clerk.domain.policy import format_avos

    return {
        "id": r.id,
        "kind": r.kind,
        "status": r.status,
        "subject": r.subject,
        "detail": r.detail,
        "amount": format_avos(r.amount_avos) if r.amount_avos is not None else None,
        "reason": r.reason,
        "requested_by": r.requested_by,
        "requested_at": r.requested_at.isoformat(timespec="seconds"),
        "decided_by": r.decided_by,
    }


def list_requests(args, ctx) -> int:
    from clerk.domain.approvals import inbox

    rows = inbox(ctx, _ready(ctx))
    if args.json:
        print_json({"requests": [_request_json(r) for r in rows]})
        return 0
    if not rows:
        print("nothing waits for a supervisor")
    for r in rows:
        amount = _request_json(r)["amount"]
        print(
            f"{r.id:>6}  {r.kind:<18} {r.subject:<16} {r.detail:<22} "
            f"{amount or '':>10}  {r.requested_by:<10} {r.requested_at:%Y-%m-%d %H:%M}  {r.reason}"
        )
    return 0


def decide(args, ctx) -> int:
    from clerk.domain import approvals
    from clerk.domain.auth import confirm_supervisor

    ctx.db.require_current()
    from clerk.commands.user import _read_password

    password = _read_password(args.password_stdin, "Supervisor's password: ", twice=False)
    supervisor = confirm_supervisor(ctx, args.supervisor, password, terminal="cli")
    if args.approve:
        done = approvals.approve(ctx, supervisor, args.id, args.reason)
    else:
        done = approvals.refuse(ctx, supervisor, args.id, args.reason)
    if args.json:
        print_json(_request_json(done))
    else:
        print(f"request {done.id} ({done.kind}, {done.subject}) {done.status} by {done.decided_by}")
    return 0


# --- the audit trail ----------------------------------------------------------------------------


def audit_show(args, ctx) -> int:
    from clerk.domain.reports import audit_trail

    rows = audit_trail(
        ctx,
        _ready(ctx),
        user=args.user,
        action=args.action,
        start=args.start,
        end=args.end,
        limit=args.limit,
    )
    if args.json:
        print_json(
            {
                "events": [
                    {
                        "id": r.id,
                        "at": r.at.isoformat(timespec="seconds"),
                        "user": r.username,
                        "counter": r.counter,
                        "terminal": r.terminal,
                        "action": r.action,
                        "subject_type": r.subject_type,
                        "subject_id": r.subject_id,
                        "before": r.before,
                        "after": r.after,
                    }
                    for r in rows
                ]
            }
        )
        return 0
    for r in rows:
        where = f"#{r.counter}" if r.counter is not None else r.terminal
        subject = f"{r.subject_type} {r.subject_id}" if r.subject_type else ""
        print(
            f"{r.id:>8}  {r.at:%Y-%m-%d %H:%M:%S}  {r.username:<10} {where:<8} "
            f"{r.action:<28} {subject:<18} {r.after}"
        )
    return 0


# --- clerk demo --scale N -----------------------------------------------------------------------


def generate_scale(ctx, n: int) -> None:
    """`clerk demo --scale N`: a year of a large office, with a progress line on stderr."""
    import time

    from clerk.domain.auth import SYSTEM
    from clerk.domain.scale import generate

    started = time.perf_counter()

    def progress(done: int, total: int) -> None:
        elapsed = time.perf_counter() - started
        print(f"\rscale: {done:,}/{total:,} applications, {elapsed:.0f} s", end="", file=sys.stderr)

    done = generate(ctx, SYSTEM, n, progress=progress)
    print(file=sys.stderr)
    print(
        f"scale: {done.applications:,} applications, {done.tags:,} tags, "
        f"{done.tag_events:,} tag events, {done.payments:,} payments, "
        f"{done.audit_events:,} audit events from {done.first_day} to {done.last_day} "
        f"in {done.seconds:.0f} s"
    )
