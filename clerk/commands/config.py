"""`clerk config path|show|sample` and `clerk audit verify`."""

from __future__ import annotations

from clerk.commands import add_command, add_group, print_json


def register(sub) -> None:
    group = add_group(sub, "config", "show the configuration in force")
    add_command(group, "path", "print the config file path in use").set_defaults(func=path)
    p = add_command(group, "show", "print the configuration in force (file + environment)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=show)
    add_command(group, "sample", "print a commented config file with every key").set_defaults(
        func=sample
    )
    group = add_group(sub, "audit", "the hash-chained audit trail")
    p = add_command(group, "verify", "walk the audit chain; exit 1 at the first broken link")
    p.add_argument("--expect", metavar="HASH", help="the newest hash printed on a daily report")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=verify)
    from clerk.commands.report import add_audit_show

    add_audit_show(group)


def path(args, ctx) -> int:
    from clerk.config import default_config_path

    file, _explicit = default_config_path() if args.config is None else (args.config, True)
    print(file)
    return 0


def show(args, ctx) -> int:
    import dataclasses

    cfg = ctx.config
    data = {name: dataclasses.asdict(section) for name, section in cfg.sections().items()}
    data["keymap"] = dict(cfg.keymap)
    if data["database"]["url"]:
        data["database"]["url"] = _safe_url(data["database"]["url"])
    if args.json:
        print_json({"source": cfg.source, "db_url": _safe_url(ctx.db_url), **data})
    else:
        print(f"# from {cfg.source}; database {_safe_url(ctx.db_url)}")
        for section, values in data.items():
            print(f"[{section}]")
            for key, value in values.items():
                print(f"{key} = {value!r}")
    return 0


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001
        return "(unreadable URL)"


def sample(args, ctx) -> int:
    from clerk.config import sample_config

    print(sample_config(), end="")
    return 0


def verify(args, ctx) -> int:
    from clerk.domain import audit

    ctx.db.require_current()
    with ctx.db.read() as s:
        result = audit.verify(s, ctx.audit_key, expected_last_hash=args.expect)
    if args.json:
        print_json(
            {
                "ok": result.ok,
                "checked": result.checked,
                "last_hash": result.last_hash,
                "broken_id": result.broken_id,
                "problem": result.problem,
            }
        )
    elif result.ok:
        print(f"audit chain intact: {result.checked} events, newest hash {result.last_hash}")
    else:
        print(f"audit chain BROKEN at event {result.broken_id}: {result.problem}")
    return 0 if result.ok else 1
