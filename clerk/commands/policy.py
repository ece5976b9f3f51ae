"""`clerk policy …`: ask the policy engine (checklists, quotes, collection dates, eligibility).

Facts are given as options or as `--facts FILE.json` (the option names with dashes as
underscores); options given on the command line override the file. Amounts are formatted here,
at the edge; the engine works in avos.
"""

from __future__ import annotations

import argparse
import json
import unicodedata
from datetime import date
from pathlib import Path
from typing import Any

from clerk.commands import add_command, add_group, print_json
from clerk.domain.policy import codes
from clerk.errors import UsageError


def _date_arg(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date YYYY-MM-DD, not {text!r}") from None


def _count_arg(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number ≥ 0, not {text!r}")
    return value


# --- options -------------------------------------------------------------------------------


def _fact_options(parser: argparse.ArgumentParser) -> None:
    """The facts of the contract; unset options are absent from the namespace (SUPPRESS)."""
    facts = parser.add_argument_group("facts (unstated: adult, single, Macao, Chinese, …)")
    unset = argparse.SUPPRESS
    choices = (
        ("--case", codes.CASES, "the case"),
        ("--marital", codes.MARITAL_STATUSES, "marital status"),
        ("--origin", codes.REGIONS, "the applicant's origin"),
        ("--spouse-origin", codes.REGIONS, "the spouse's origin"),
        ("--nationality", codes.NATIONALITIES, "nationality"),
        ("--photo", codes.PHOTO_OPTIONS, "photo option"),
        ("--exemption", codes.EXEMPTIONS, "fee exemption asked for"),
        ("--service", codes.SERVICES, "processing service"),
    )
    for flag, valid, help_text in choices:
        facts.add_argument(flag, choices=valid, default=unset, help=help_text)
    valued = (
        ("--age", _count_arg, "N", "age in years"),
        ("--prior-surcharges", _count_arg, "N", "earlier non-presentation surcharges"),
        ("--prior-surcharge-dates", str, "D,D,…", "their dates (for the 2023-card reset)"),
        ("--first-issued-2023-card", _date_arg, "DATE", "first issue of a 2023-version card"),
    )
    for flag, kind, metavar, help_text in valued:
        facts.add_argument(flag, type=kind, metavar=metavar, default=unset, help=help_text)
    flags = (
        ("--residence-authorisation", "subject to residence authorisation"),
        ("--talent-scheme", "advanced professional under Law 7/2023 art. 3(3)"),
        ("--no-original", "the original former card is not presented"),
        ("--foreign-language-docs", "documents not in Chinese, Portuguese or English"),
        ("--birth-record-changed", "the birth record changed since the last issue"),
        ("--external-service", "external service requested"),
    )
    for flag, help_text in flags:
        facts.add_argument(flag, action="store_true", default=unset, help=help_text)
    facts.add_argument(
        "--facts",
        dest="facts_file",
        type=Path,
        metavar="FILE.json",
        help="facts as a JSON object (option names, dashes as underscores)",
    )


def _output_options(parser: argparse.ArgumentParser, *, dated: bool = True) -> None:
    if dated:
        parser.add_argument(
            "--on",
            type=_date_arg,
            metavar="DATE",
            help="the lodging date whose rules apply (default: today in Macao)",
        )
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument(
        "--lang", choices=codes.LANGUAGES, default="en", help="language of titles and labels"
    )


def register(sub) -> None:
    group = add_group(sub, "policy", "rules: checklists, fees, collection dates, eligibility")

    parser = add_command(group, "checklist", "the documents a case needs, with reasons")
    _fact_options(parser)
    _output_options(parser)
    parser.set_defaults(func=run_checklist)

    parser = add_command(group, "quote", "the fees of a case, in MOP")
    _fact_options(parser)
    _output_options(parser)
    parser.set_defaults(func=run_quote)

    parser = add_command(group, "collection-date", "when the new card can be collected")
    parser.add_argument("--lodged", type=_date_arg, required=True, metavar="DATE")
    parser.add_argument("--service", choices=codes.SERVICES, default="normal")
    _output_options(parser, dated=False)
    parser.set_defaults(func=run_collection_date)

    parser = add_command(group, "eligibility", "renewal window and online renewal of a BIR")
    expiry = parser.add_mutually_exclusive_group(required=True)
    expiry.add_argument("--expiry", type=_date_arg, metavar="DATE", help="the card's expiry")
    expiry.add_argument("--no-expiry", action="store_true", help="the card does not expire")
    parser.add_argument("--age", type=_count_arg, help="age on the new card's issue date")
    parser.add_argument("--age-at-issue", type=_count_arg, help="age when the card was issued")
    parser.add_argument("--non-permanent", action="store_true", help="a non-permanent resident")
    parser.add_argument("--identity-data-change", action="store_true")
    parser.add_argument("--interdicted", action="store_true")
    parser.add_argument("--lost", action="store_true", help="the card was lost")
    _output_options(parser)
    parser.set_defaults(func=run_eligibility)

    parser = add_command(group, "hk-enrolment", "HK e-channel style enrolment of an HK resident")
    parser.add_argument("--age", type=_count_arg, required=True)
    parser.add_argument("--permanent", action="store_true", help="HK permanent identity card")
    parser.add_argument("--symbols", default="", help="symbols on the card, e.g. '***AZ'")
    parser.add_argument("--invalid-card", action="store_true", help="the card is not valid")
    _output_options(parser)
    parser.set_defaults(func=run_hk_enrolment)

    parser = add_command(group, "payment-methods", "payment methods accepted at the counter")
    _output_options(parser)
    parser.set_defaults(func=run_payment_methods)

    parser = add_command(group, "closures", "the days the office is closed besides weekends")
    parser.add_argument("--year", type=_count_arg, required=True)
    _output_options(parser, dated=False)
    parser.set_defaults(func=run_closures)


# --- facts from options and file -------------------------------------------------------------


def _read_facts_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"--facts {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise UsageError(f"--facts {path}: not UTF-8 text") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"--facts {path}: line {exc.lineno}: {exc.msg}") from None
    if not isinstance(data, dict):
        raise UsageError(f"--facts {path}: expected a JSON object of fact names and values")
    return data


def facts_from_args(args: argparse.Namespace):
    """The `Facts` of the command line: the `--facts` file, then the options given."""
    from clerk.domain.policy import FACT_KEYS, Facts

    mapping: dict[str, Any] = {}
    if args.facts_file is not None:
        mapping = _read_facts_file(args.facts_file)
        try:
            Facts.from_mapping(mapping)
        except UsageError as exc:
            raise UsageError(f"--facts {args.facts_file}: {exc.message}") from None
    mapping.update({key: value for key, value in vars(args).items() if key in FACT_KEYS})
    if mapping.pop("no_original", False):
        mapping["original_presented"] = False
    return Facts.from_mapping(mapping)


# --- output ----------------------------------------------------------------------------------


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def _pad(text: str, width: int, *, right: bool = False) -> str:
    fill = " " * max(0, width - _width(text))
    return fill + text if right else text + fill


def _print_table(header: tuple[str, ...], rows: list[tuple[str, ...]], right: int = -1) -> None:
    """Columns sized to their widest cell (CJK counts double); column `right` right-aligned."""
    widths = [max(_width(row[i]) for row in (header, *rows)) for i in range(len(header))]
    for row in (header, *rows):
        cells = [_pad(cell, widths[i], right=i == right) for i, cell in enumerate(row)]
        print("  ".join(cells).rstrip())


def _yes(value: bool) -> str:
    return "yes" if value else "no"


def _lodging_day(args: argparse.Namespace, ctx) -> date:
    """`--on`, or today at the office (its configured time zone), asked now."""
    return args.on if args.on is not None else ctx.today()


def run_checklist(args: argparse.Namespace, ctx) -> int:
    from clerk.domain.policy import checklist

    items = checklist(facts_from_args(args), on=_lodging_day(args, ctx))
    if args.json:
        print_json(
            {
                "items": [
                    {
                        "code": item.code,
                        "title": item.title["en"],
                        "titles": item.title,
                        "reason": item.reason,
                        "reasons": item.reasons,
                        "blocking": item.blocking,
                    }
                    for item in items
                ]
            }
        )
        return 0
    rows = []
    for item in items:
        rows.append((item.code, _yes(item.blocking), item.title_for(args.lang)))
        rows.append(("", "", f"  {item.reason_for(args.lang)}"))
    _print_table(("CODE", "BLOCKING", "DOCUMENT / REASON"), rows)
    return 0


def run_quote(args: argparse.Namespace, ctx) -> int:
    from clerk.domain.policy import format_avos, quote

    result = quote(facts_from_args(args), on=_lodging_day(args, ctx))
    if args.json:
        print_json(
            {
                "currency": result.currency,
                "lines": [
                    {
                        "code": line.code,
                        "label": line.label["en"],
                        "labels": line.label,
                        "amount": format_avos(line.amount_avos),
                    }
                    for line in result.lines
                ],
                "total": format_avos(result.total_avos),
            }
        )
        return 0
    rows = [
        (line.code, line.label_for(args.lang), format_avos(line.amount_avos))
        for line in result.lines
    ]
    rows.append(("", f"Total ({result.currency})", format_avos(result.total_avos)))
    _print_table(("CODE", "FEE", "AMOUNT"), rows, right=2)
    return 0


def run_collection_date(args: argparse.Namespace, ctx) -> int:
    from clerk.domain.policy import collection_date

    result = collection_date(args.lodged, args.service)
    if args.json:
        print_json(
            {
                "collection_date": result.collection_date.isoformat(),
                "working_days": result.working_days,
            }
        )
    else:
        print(
            f"Lodged {args.lodged.isoformat()}, {args.service} service: "
            f"{result.working_days} working days, collection on "
            f"{result.collection_date.isoformat()} ({result.collection_date:%A})"
        )
    return 0


def _eligibility_json(result, **extra: Any) -> dict[str, Any]:
    reasons = [{"code": r.code, "text": r.text["en"], "texts": r.text} for r in result.reasons]
    return {"eligible": result.eligible, **extra, "reasons": reasons}


def _print_eligibility(name: str, result, lang: str) -> None:
    print(f"{name}: {'eligible' if result.eligible else 'not eligible'}")
    for reason in result.reasons:
        print(f"  - {reason.text_for(lang)}")


def run_eligibility(args: argparse.Namespace, ctx) -> int:
    from clerk.domain.policy import (
        online_renewal_eligibility,
        renewal_eligibility,
        renewal_window_opens,
    )

    expiry = None if args.no_expiry else args.expiry
    day = _lodging_day(args, ctx)
    renewal = renewal_eligibility(expiry, on=day, age_at_issue=args.age_at_issue)
    online = online_renewal_eligibility(
        expiry=expiry,
        age=args.age,
        permanent=not args.non_permanent,
        identity_data_change=args.identity_data_change,
        interdicted=args.interdicted,
        lost=args.lost,
        age_at_issue=args.age_at_issue,
        on=day,
    )
    opens = renewal_window_opens(expiry, on=day) if expiry else None
    if args.json:
        print_json(
            {
                "renewal": _eligibility_json(
                    renewal, window_opens=opens.isoformat() if opens else None
                ),
                "online_renewal": _eligibility_json(online),
            }
        )
        return 0
    if opens:
        print(f"Renewal window opens on {opens.isoformat()}")
    _print_eligibility("Renewal at the counter", renewal, args.lang)
    _print_eligibility("Online renewal (Macao One Account)", online, args.lang)
    return 0


def run_hk_enrolment(args: argparse.Namespace, ctx) -> int:
    from clerk.domain.policy import hk_enrolment_eligibility

    result = hk_enrolment_eligibility(
        age=args.age,
        permanent=args.permanent,
        symbols=args.symbols,
        card_valid=not args.invalid_card,
        on=_lodging_day(args, ctx),
    )
    if args.json:
        print_json(_eligibility_json(result))
    else:
        _print_eligibility("HK e-channel enrolment", result, args.lang)
    return 0


def run_payment_methods(args: argparse.Namespace, ctx) -> int:
    from clerk.domain.policy import payment_methods

    methods = payment_methods(on=_lodging_day(args, ctx))
    if args.json:
        print_json(
            {
                "methods": [
                    {
                        "code": method.code,
                        "label": method.label["en"],
                        "labels": method.label,
                        "is_cash": method.is_cash,
                        "needs_reference": method.needs_reference,
                    }
                    for method in methods
                ]
            }
        )
        return 0
    rows = [
        (m.code, m.label_for(args.lang), _yes(m.is_cash), _yes(m.needs_reference)) for m in methods
    ]
    _print_table(("CODE", "METHOD", "CASH", "REFERENCE"), rows)
    return 0


def run_closures(args: argparse.Namespace, ctx) -> int:
    from clerk.domain.policy import closed_days

    if not 1900 <= args.year <= 2200:
        raise UsageError(f"--year must be between 1900 and 2200, not {args.year}")
    days = closed_days(args.year)
    if args.json:
        print_json(
            {
                "year": args.year,
                "closures": [
                    {"date": d.day.isoformat(), "name": d.name, "source": d.source} for d in days
                ],
            }
        )
        return 0
    rows = [(d.day.isoformat(), f"{d.day:%a}", d.name, d.source) for d in days]
    _print_table(("DATE", "DAY", "CLOSURE", "SOURCE"), rows)
    return 0
