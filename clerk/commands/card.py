"""`clerk card …`: the counter's card reader from the command line.

  card readers [--json]            → {"kind":"pcsc","readers":[{"name","selected"}]}
  card status [--json]             → {"kind","reader","state","detail","profile","profile_version",
                                      "pin_secret":"set"|"missing","warnings":[…],"ready"}
                                      (exit 1 unless ready; a vpcd reader config is a warning)
  card read [--json] [--compare] [--application ID]
                                   → CardData.as_json() (+ "comparison":{"applicant_id",
                                      "personalisation","differences":[{"field","card","record"}]})
  card personalise APPLICATION_ID [--again] [--condition-of-stay T] [--limit-of-stay D]
                                  [--symbols S] [--opt-in NAME]… [--json]
                                   → Personalised.as_json()
  card emulate [--port 35963] [--blank|--demo-holder|--other-kind]
                                   the reference card behind vpcd, until Ctrl+C

`card_reader.kind = "virtual"` gives an in-process card that lives as long as the command (demo
and tests). The command line acts as the system user; the PIN comes from the secret store
(CLERK_CARD_PIN, …), never from an option. pyscard is imported only when a reader is used.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from typing import Any

from clerk.commands import add_command, add_group, print_json
from clerk.errors import UsageError


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date YYYY-MM-DD") from None


def register(sub) -> None:
    group = add_group(sub, "card", "the card reader: list, read, personalise, emulate")

    p = add_command(group, "readers", "list the readers pcscd knows (or the virtual reader)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=readers)

    p = add_command(group, "status", "reader, card, profile and PIN secret: is the desk ready?")
    _reader_option(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=status)

    p = add_command(group, "read", "read the card in the reader (holder data, serial, ATR)")
    _reader_option(p)
    p.add_argument("--compare", action="store_true", help="compare with the database record")
    p.add_argument(
        "--application",
        type=int,
        metavar="ID",
        help="compare with this application (and its personalisation)",
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=read)

    p = add_command(
        group,
        "personalise",
        "write the application's holder record to the card, verify it and lock it",
    )
    p.add_argument("application_id", type=int, metavar="APPLICATION_ID")
    _reader_option(p)
    p.add_argument("--again", action="store_true", help="a replacement card for the application")
    p.add_argument("--condition-of-stay", default="", metavar="TEXT")
    p.add_argument("--limit-of-stay", type=_day, metavar="YYYY-MM-DD")
    p.add_argument("--symbols", metavar="TEXT", help='e.g. "***" or "R" (default: current card)')
    p.add_argument(
        "--opt-in",
        action="append",
        default=[],
        metavar="NAME",
        help="a non-immigration application, e.g. library_card (repeat for more)",
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=personalise)

    p = add_command(
        group,
        "emulate",
        "run the reference card behind vpcd (development and tests only; never in production)",
    )
    p.add_argument("--host", default="127.0.0.1", help="where vpcd listens (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=35963, help="vpcd port (default 35963)")
    kind = p.add_mutually_exclusive_group()
    kind.add_argument("--blank", action="store_true", help="a blank card (the default)")
    kind.add_argument("--demo-holder", action="store_true", help="a card of the demo holder")
    kind.add_argument("--other-kind", action="store_true", help="a card of another kind")
    p.add_argument("--no-quickack", action="store_true", help="leave delayed ACKs on (slow)")
    p.set_defaults(func=emulate)


def _reader_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--reader", metavar="NAME", help="part of the reader's name (config: reader)")


def _open(args, ctx):
    from clerk.devices.reader import PcscReader
    from clerk.domain.cards import open_reader

    if getattr(args, "reader", None):
        return PcscReader(args.reader)
    return open_reader(ctx)


# --- readers and status ---------------------------------------------------------------------


def readers(args, ctx) -> int:
    reader = _open(args, ctx)
    names = reader.readers()
    wanted = ctx.config.card_reader.reader.lower()
    chosen = next((n for n in names if wanted in n.lower()), None)
    kind = "virtual" if reader.virtual else "pcsc"
    if args.json:
        print_json({"kind": kind, "readers": [{"name": n, "selected": n == chosen} for n in names]})
        return 0
    if not names:
        raise UsageError("no card reader is connected")
    for name in names:
        mark = "*" if name == chosen else " "
        label = " (virtual reader)" if reader.virtual else ""
        print(f"{mark} {name}{label}")
    return 0


def status(args, ctx) -> int:
    from clerk.devices.card_profile import load_profile
    from clerk.errors import ClerkError
    from clerk.secrets import get_secret

    reader = _open(args, ctx)
    report: dict[str, Any] = {"kind": "virtual" if reader.virtual else "pcsc"}
    state = reader.state()
    report.update(reader=state.reader or reader.name, state=state.state, detail=state.detail)
    has_pin = False
    try:
        profile = load_profile()
        report.update(profile=str(profile.path), profile_version=profile.version)
        has_pin = bool(get_secret(profile.pin_secret, ctx.config, required=False))
    except ClerkError as exc:
        report.update(profile=exc.message, profile_version="")
    report["pin_secret"] = "set" if has_pin else "missing"
    from clerk.devices.vpcd import vpcd_configured

    report["warnings"] = [
        f"{path} loads the vpcd virtual reader: never on a production workstation "
        "(remove the vsmartcard-vpcd package)"
        for path in vpcd_configured()
    ]
    report["ready"] = (
        state.state in ("present", "no-card")
        and bool(report["profile_version"])
        and (has_pin or reader.virtual)
    )
    if args.json:
        print_json(report)
    else:
        label = " (virtual reader)" if reader.virtual else ""
        detail = f": {state.detail}" if state.detail else ""
        print(f"reader   {report['reader']}{label}")
        print(f"state    {state.state}{detail}")
        print(f"profile  {report['profile']} (version {report['profile_version'] or '?'})")
        print(f"PIN      secret {report['pin_secret']}")
        for warning in report["warnings"]:
            print(f"WARNING  {warning}")
        print("ready" if report["ready"] else "NOT ready")
    return 0 if report["ready"] else 1


# --- read -----------------------------------------------------------------------------------


def _text(value: object) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, frozenset):
        return ", ".join(sorted(value)) or "—"
    return str(value)


def read(args, ctx) -> int:
    from clerk.domain.cards import compare_card, holder_json, read_card

    card = read_card(_open(args, ctx))
    comparison = None
    if args.compare or args.application:
        ctx.db.require_current()
        comparison = compare_card(ctx, card, args.application)
    if args.json:
        out = card.as_json()
        if comparison is not None:
            out["comparison"] = {
                "applicant_id": comparison.applicant_id,
                "personalisation": comparison.personalisation,
                "differences": [
                    {"field": r.field, "card": _text(r.on_card), "record": _text(r.in_record)}
                    for r in comparison.differences
                ],
            }
        print_json(out)
        return 0
    label = " (virtual reader)" if card.virtual else ""
    state = "blank" if card.holder is None else ("locked" if card.locked else "NOT locked")
    lines = [
        ("reader", f"{card.reader}{label}"),
        ("serial", card.serial),
        ("ATR", card.atr),
        ("card", f"{state} (profile {card.profile_version})"),
    ]
    if card.holder is not None:
        marks = {r.field: r for r in comparison.rows} if comparison else {}
        for name in holder_json(card.holder):
            row = marks.get(name)
            note = f"   ≠ database: {_text(row.in_record)}" if row and row.differs else ""
            lines.append((name, _text(getattr(card.holder, name)) + note))
    for name, text in lines:
        print(f"{name:<18} {text}")
    if comparison is not None:
        n = len(comparison.differences)
        print(f"{'database':<18} {'matches' if n == 0 else f'{n} difference(s)'}", end="")
        if comparison.personalisation:
            print(f"; personalisation {comparison.personalisation}", end="")
        print()
    return 0


# --- personalise ----------------------------------------------------------------------------


def personalise(args, ctx) -> int:
    from clerk.domain.auth import SYSTEM
    from clerk.domain.cards import CardOptions
    from clerk.domain.cards import personalise as run

    ctx.db.require_current()
    actor = SYSTEM.at(counter=getattr(args, "counter", None))
    options = CardOptions(
        condition_of_stay=args.condition_of_stay,
        limit_of_stay=args.limit_of_stay,
        symbols=args.symbols,
        applications=frozenset(args.opt_in),
    )
    done = run(ctx, actor, _open(args, ctx), args.application_id, options=options, again=args.again)
    if args.json:
        print_json(done.as_json())
    else:
        how = "already written; verified and recorded" if done.recovered else "personalised"
        print(
            f"application {done.application_id}: card {done.serial} {how} "
            f"({done.bytes_written} bytes, {done.commands} commands, sha256 {done.data_hash[:16]}…)"
        )
    return 0


# --- emulate --------------------------------------------------------------------------------


def emulate(args, ctx) -> int:
    from clerk.devices.card_profile import load_profile
    from clerk.devices.reference_card import OtherCard, ReferenceCard, demo_holder
    from clerk.devices.vpcd import VpcdCard
    from clerk.secrets import get_secret

    if not 0 < args.port < 65536:
        raise UsageError(f"--port {args.port} is not a TCP port")
    profile = load_profile()
    if args.other_kind:
        card = OtherCard()
    else:
        pin = get_secret(profile.pin_secret, ctx.config)
        if args.demo_holder:
            card = ReferenceCard.personalised(profile, pin, demo_holder(ctx.today()))
        else:
            card = ReferenceCard(profile, pin)
    print(
        "clerk card emulate: a simulated card for development and tests. Never enable vpcd on "
        "a production workstation.",
        file=sys.stderr,
    )
    where = f"{args.host}:{args.port}"
    vpcd = VpcdCard(
        card,
        args.host,
        args.port,
        quickack=not args.no_quickack,
        on_event=lambda what: print(f"card {what} ({where})", file=sys.stderr, flush=True),
    )
    print(f"waiting for vpcd at {where} (pcscd with the vpcd driver); Ctrl+C ends", file=sys.stderr)
    try:
        vpcd.run()
    except KeyboardInterrupt:
        vpcd.remove()
    return 0
