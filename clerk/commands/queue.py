"""`clerk tag …`, `clerk appointment …`, `clerk counter …` and `clerk board`.

JSON contract (scripts and kiosks depend on these keys):
  tag issue --json  → {"tag":"A017","service":"A","number":17,"day":"YYYY-MM-DD"}
  tag call --json   → {"tag":"A017","counter":3}   ("tag": null when nothing waits)
  tag list --json   → {"tags":[{"tag","service","number","status","counter"}]}
The command line acts as the system user (the office's IT person or a kiosk).
"""

from __future__ import annotations

import argparse
import sys

from clerk.commands import add_command, add_group, print_json
from clerk.errors import UsageError

# action name → (service function, help, needs --counter)
TAG_ACTIONS = {
    "recall": ("recall", "call a tag again (counts the recalls)", False),
    "serve": ("start_serving", "the applicant is at the counter", False),
    "no-show": ("no_show", "close a tag nobody answered (after the recalls)", False),
    "park": ("park", "set a tag aside at its counter", False),
    "resume": ("resume", "call a parked tag (or a no-show who came back) again", True),
    "finish": ("finish", "the applicant was served", False),
}


def _day(text: str | None):
    if text is None:
        return None
    from clerk.domain.queue import parse_day

    return parse_day(text)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def register(sub) -> None:
    tag = add_group(sub, "tag", "number tags: issue, call, recall, park, transfer, finish, list")
    p = add_command(tag, "issue", "issue the next tag of a service")
    p.add_argument("--service", required=True, metavar="CODE", help="e.g. A")
    p.add_argument("--json", action="store_true")
    p.add_argument("--print", action="store_true", help="print the slip on the printer")
    p.add_argument("--slip", metavar="FILE.pdf", help="write the slip to a PDF file")
    p.set_defaults(func=issue)

    p = add_command(tag, "call", "call the next tag for a counter (or one tag with --tag)")
    p.add_argument("--counter", required=True, type=_positive, metavar="N")
    p.add_argument("--tag", metavar="CODE", help="call this waiting tag instead of the next")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=call)

    for name, (_fn, help_, needs_counter) in TAG_ACTIONS.items():
        p = add_command(tag, name, help_)
        p.add_argument("code", metavar="TAG")
        p.add_argument(
            "--counter",
            type=_positive,
            metavar="N",
            required=needs_counter,
            help="the counter acting (refused when the tag is elsewhere)",
        )
        p.add_argument("--json", action="store_true")
        p.set_defaults(func=act, action=name)

    p = add_command(tag, "transfer", "send a tag to another service, keeping its number")
    p.add_argument("code", metavar="TAG")
    p.add_argument("--to", required=True, metavar="CODE", help="the service, e.g. C")
    p.add_argument("--counter", type=_positive, metavar="N")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=transfer)

    p = add_command(tag, "list", "the tags of a day (default today), in issue order")
    p.add_argument("--day", metavar="YYYY-MM-DD")
    p.add_argument(
        "--status", choices=("waiting", "called", "serving", "parked", "finished", "no-show")
    )
    p.add_argument("--counter", type=_positive, metavar="N")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=list_tags)

    p = add_command(tag, "show", "one tag and every timed transition")
    p.add_argument("code", metavar="TAG")
    p.add_argument("--day", metavar="YYYY-MM-DD")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=show)

    p = add_command(tag, "wait", "waiting and estimated wait per service")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=wait)

    p = add_command(tag, "slip", "the slip of an issued tag again (a PDF file or the printer)")
    p.add_argument("code", metavar="TAG")
    p.add_argument("--day", metavar="YYYY-MM-DD")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--out", metavar="FILE.pdf")
    where.add_argument("--print", action="store_true")
    p.set_defaults(func=slip)

    _register_appointments(sub)
    _register_counters(sub)

    p = add_command(sub, "board", "the display board for a wall screen (full screen)")
    p.add_argument("--quiet", action="store_true", help="no bell and no spoken calls")
    p.set_defaults(func=board)


def _register_appointments(sub) -> None:
    group = add_group(sub, "appointment", "appointments and online tags: add, import, check in")
    p = add_command(group, "add", "book an appointment")
    p.add_argument("--name", required=True)
    p.add_argument("--id-number", required=True, metavar="ID", help="e.g. 1234567(8)")
    p.add_argument("--service", required=True, metavar="CODE")
    p.add_argument("--date", required=True, metavar="YYYY-MM-DD")
    p.add_argument("--slot", required=True, metavar="HH:MM-HH:MM")
    p.add_argument("--kind", choices=("appointment", "online-tag"), default="appointment")
    p.add_argument("--booking-code", default="", metavar="CODE", help="default: a new one")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=appointment_add)

    p = add_command(
        group,
        "import",
        "import a CSV (name,id_number,service,date,slot[,kind,booking_code]); broken rows are "
        "reported by line and the rest go in, unless --strict",
    )
    p.add_argument("file", metavar="FILE.csv")
    p.add_argument("--strict", action="store_true", help="one broken row refuses the whole file")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=appointment_import)

    p = add_command(group, "list", "a day's appointments (default today)")
    p.add_argument("--day", metavar="YYYY-MM-DD")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=appointment_list)

    p = add_command(group, "check-in", "the applicant arrived: booking code or ID number")
    p.add_argument("code", metavar="CODE_OR_ID")
    p.add_argument("--print", action="store_true", help="print the slip")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=appointment_check_in)


def _register_counters(sub) -> None:
    group = add_group(sub, "counter", "counters and the services they serve")
    p = add_command(group, "list", "counters and their services")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=counter_list)
    p = add_command(group, "services", "set the services a counter serves (at once)")
    p.add_argument("number", type=_positive, metavar="N")
    p.add_argument("--set", required=True, metavar="A,B,…", help="'' for none")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=counter_services)


# --- helpers ------------------------------------------------------------------------------------


def _ready(ctx):
    from clerk.domain.auth import SYSTEM

    ctx.db.require_current()
    return SYSTEM


def _print_rows(key: str, rows, **fields) -> None:
    """`{"<key>": [{field: value, …}, …]}`; a field is an attribute name or a function."""
    print_json(
        {
            key: [
                {
                    name: (get(r) if callable(get) else getattr(r, get))
                    for name, get in fields.items()
                }
                for r in rows
            ]
        }
    )


def _tag_json(view) -> dict:
    return {
        "tag": view.code,
        "service": view.service,
        "number": view.number,
        "status": view.status,
        "counter": view.counter,
        "recalls": view.recalls,
    }


def _say_tag(view, as_json: bool) -> None:
    if as_json:
        print_json(_tag_json(view))
    else:
        where = f" at counter {view.counter}" if view.counter else ""
        print(f"{view.code} ({view.service}) {view.status}{where}")


def _slip_out(ctx, issued, out: str | None, to_printer: bool) -> None:
    from clerk.domain.queue import print_slip, slip_pdf

    if out:
        from pathlib import Path

        try:
            Path(out).write_bytes(slip_pdf(ctx, issued))
        except OSError as exc:
            from clerk.errors import Failure

            raise Failure(f"cannot write {out}: {exc.strerror}") from None
    if to_printer:
        done = print_slip(ctx, issued)
        print(f"slip of {issued.tag} sent to {done.where}", file=sys.stderr)


# --- tag ----------------------------------------------------------------------------------------


def issue(args, ctx) -> int:
    from clerk.domain.queue import issue_tag

    issued = issue_tag(ctx, _ready(ctx), args.service)
    # the tag exists now: say so before printing, which may fail on its own
    if args.json:
        print_json(issued.as_json())
    else:
        print(f"{issued.tag} ({issued.service}) issued; {issued.ahead} ahead")
    sys.stdout.flush()
    _slip_out(ctx, issued, args.slip, args.print)
    return 0


def call(args, ctx) -> int:
    from clerk.domain import queue

    actor = _ready(ctx)
    if args.tag:
        view = queue.call_tag(ctx, actor, args.counter, args.tag)
    else:
        view = queue.call_next(ctx, actor, args.counter)
    if args.json:
        print_json({"tag": view.code if view else None, "counter": args.counter})
        return 0
    if view is None:
        raise UsageError(f"nobody is waiting for counter {args.counter}")
    print(f"{view.code} → counter {args.counter}")
    return 0


def act(args, ctx) -> int:
    from clerk.domain import queue

    fn = getattr(queue, TAG_ACTIONS[args.action][0])
    view = fn(ctx, _ready(ctx), args.code, args.counter)
    _say_tag(view, args.json)
    return 0


def transfer(args, ctx) -> int:
    from clerk.domain.queue import transfer as transfer_tag

    view = transfer_tag(ctx, _ready(ctx), args.code, args.to, args.counter)
    _say_tag(view, args.json)
    return 0


def list_tags(args, ctx) -> int:
    from clerk.domain.queue import list_tags as rows_of

    _ready(ctx)
    day, after, out = _day(args.day), 0, []
    while True:  # page through the day: bounded reads, the whole list
        page = rows_of(
            ctx, day, status=args.status, counter=args.counter, after_id=after, limit=1000
        )
        out.extend(page)
        if len(page) < 1000:
            break
        after = page[-1].id
    if args.json:
        fields = ("tag", "service", "number", "status", "counter")
        _print_rows("tags", out, **{f: f for f in fields})
        return 0
    for r in out:
        print(f"{r.tag:<6} {r.service:<2} {r.status:<9} {r.counter or '':>3}")
    return 0


def show(args, ctx) -> int:
    from clerk.domain.queue import tag_history

    _ready(ctx)
    events = tag_history(ctx, args.code, _day(args.day))
    if args.json:
        _print_rows(
            "events", events, kind="kind", at=lambda e: e.at.isoformat(), counter="counter",
            detail="detail",
        )  # fmt: skip
        return 0
    from clerk.domain.clock import to_local

    for e in events:
        local = to_local(e.at, ctx.tz)
        counter = f"counter {e.counter}" if e.counter else ""
        print(f"{local:%H:%M:%S} {e.kind:<12} {counter:<11} {e.detail}".rstrip())
    return 0


def wait(args, ctx) -> int:
    from clerk.domain.queue import wait_estimates

    _ready(ctx)
    rows = wait_estimates(ctx)
    if args.json:
        _print_rows(
            "services", rows, service="code", waiting="waiting", counters="counters",
            seconds_per_tag="seconds_per_tag", wait_minutes=lambda w: w.wait_minutes(),
        )  # fmt: skip
        return 0
    for w in rows:
        minutes = w.wait_minutes()
        text = "no counter" if minutes is None else f"~{minutes} min"
        print(f"{w.code} {w.names.en:<40} {w.waiting:>4} waiting  {text}")
    return 0


def slip(args, ctx) -> int:
    from clerk.domain.queue import issued_tag

    _ready(ctx)
    _slip_out(ctx, issued_tag(ctx, args.code, _day(args.day)), args.out, args.print)
    return 0


# --- appointments -------------------------------------------------------------------------------


def _appointment_json(info, tag: str | None = None) -> dict:
    return {
        "booking_code": info.booking_code,
        "name": info.name,
        "id_number": info.id_number,
        "service": info.service,
        "date": info.day.isoformat(),
        "slot": f"{info.slot_start}-{info.slot_end}",
        "kind": info.kind,
        "status": info.status,
        "tag": tag,
    }


def appointment_add(args, ctx) -> int:
    from clerk.domain.queue import add_appointment, appointment_request

    req = appointment_request(
        name=args.name,
        id_number=args.id_number,
        service=args.service,
        day=args.date,
        slot=args.slot,
        kind=args.kind,
        booking_code=args.booking_code,
    )
    info = add_appointment(ctx, _ready(ctx), req)
    if args.json:
        print_json(_appointment_json(info))
    else:
        print(f"booked {info.booking_code}: {info.service} on {info.day} {info.slot}")
    return 0


def appointment_import(args, ctx) -> int:
    from clerk.domain.queue import import_appointments

    try:
        with open(args.file, encoding="utf-8-sig") as fh:
            text = fh.read()
    except FileNotFoundError:
        raise UsageError(f"{args.file} does not exist") from None
    except UnicodeDecodeError:
        raise UsageError(f"{args.file} is not UTF-8 text") from None
    except OSError as exc:
        raise UsageError(f"cannot read {args.file}: {exc.strerror}") from None
    report = import_appointments(ctx, _ready(ctx), text, strict=args.strict)
    if args.json:
        print_json(
            {
                "imported": report.imported,
                "skipped": [{"line": n, "reason": m} for n, m in report.skipped],
                "errors": [{"line": n, "reason": m} for n, m in report.errors],
            }
        )
    else:
        print(f"{len(report.imported)} imported, {len(report.skipped)} already there")
    for line, message in report.errors:
        print(f"clerk: {args.file}:{line}: {message}", file=sys.stderr)
    return 2 if report.errors else 0


def appointment_list(args, ctx) -> int:
    from clerk.domain.queue import list_appointments

    _ready(ctx)
    rows = list_appointments(ctx, _day(args.day))
    if args.json:
        print_json({"appointments": [_appointment_json(info, tag) for info, tag in rows]})
        return 0
    for info, tag in rows:
        print(
            f"{info.slot:<11} {info.booking_code:<9} {info.service} {info.status:<10} "
            f"{tag or '':<5} {info.id_number:<11} {info.name}"
        )
    return 0


def appointment_check_in(args, ctx) -> int:
    from clerk.domain.queue import check_in

    issued = check_in(ctx, _ready(ctx), args.code)
    if args.json:
        print_json({**issued.as_json(), "late": issued.late})
    else:
        note = " (after the slot: walk-in order)" if issued.late else ""
        print(f"{issued.tag} ({issued.service}) issued for {issued.appointment.booking_code}{note}")
    sys.stdout.flush()
    _slip_out(ctx, issued, None, args.print)
    return 0


# --- counters -----------------------------------------------------------------------------------


def counter_list(args, ctx) -> int:
    from clerk.domain.queue import counters_overview

    _ready(ctx)
    lines = counters_overview(ctx)
    if args.json:
        _print_rows(
            "counters", lines, counter="number", name="name", active="active",
            services="services",
        )  # fmt: skip
        return 0
    for c in lines:
        state = "" if c.active else " (closed)"
        print(f"{c.number:>3} {','.join(c.services) or '—':<12} {c.name}{state}")
    return 0


def counter_services(args, ctx) -> int:
    from clerk.domain.queue import set_counter_services

    codes = [c for c in args.set.replace(" ", ",").split(",") if c]
    now = set_counter_services(ctx, _ready(ctx), args.number, codes)
    if args.json:
        print_json({"counter": args.number, "services": list(now)})
    else:
        print(f"counter {args.number} serves {','.join(now) or 'nothing'}")
    return 0


# --- board --------------------------------------------------------------------------------------


def board(args, ctx) -> int:
    from clerk.errors import Failure

    if not sys.stdin.isatty() or not sys.stdout.isatty():
        raise UsageError("the board needs a terminal (a full-screen view for a wall screen)")
    ctx.db.require_current()
    from clerk.logs import setup_logging
    from clerk.screens.board import BoardApp

    setup_logging(ctx)
    app = BoardApp(ctx, sound=not args.quiet)
    app.run()
    if app.return_code not in (0, None):
        raise Failure("the board stopped after an error (see the log)")
    return 0
