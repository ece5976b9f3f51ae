"""`clerk` (the TUI) and `clerk demo`."""

from __future__ import annotations

import argparse
import sys

from clerk.commands import add_command


def register(sub) -> None:
    p = add_command(sub, "tui", "open the workstation (the default without a subcommand)")
    p.add_argument(
        "--counter",
        type=int,
        metavar="N",
        default=argparse.SUPPRESS,
        help="the counter this terminal serves",
    )
    p.set_defaults(func=run_tui)
    p = add_command(
        sub,
        "demo",
        "seed a demo database (default: demo.db in the user data "
        "folder) and open the workstation on it",
    )
    p.add_argument("--seed-only", action="store_true", help="seed, print the users, do not open")
    p.add_argument(
        "--scale",
        type=int,
        metavar="N",
        help="also generate N applications over the past year (tags, payments, events)",
    )
    p.add_argument("--counter", type=int, metavar="N", default=argparse.SUPPRESS)
    p.set_defaults(func=demo)
    p = add_command(
        sub,
        "serve",
        "serve the workstation to browsers with textual-serve, bound "
        "to this machine only: put a TLS reverse proxy with authentication in front",
    )
    p.add_argument("--host", default="127.0.0.1", help="a loopback address (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8765)
    p.add_argument(
        "--public-url", help="the URL browsers use (the proxy's), e.g. https://clerk.office.example"
    )
    p.set_defaults(func=serve)


def _open_tui(ctx, *, demo: bool, counter: int | None) -> int:
    import os

    from clerk.errors import Failure, UsageError

    served = "web_driver" in os.environ.get("TEXTUAL_DRIVER", "")  # under `clerk serve`
    if not served and (not sys.stdin.isatty() or not sys.stdout.isatty()):
        raise UsageError(
            "the workstation needs a terminal; use a subcommand for scripts (see clerk --help)"
        )
    if counter is not None and counter < 1:
        raise UsageError("--counter must be 1 or more")
    ctx.config  # noqa: B018 - a bad config file is one line here, before the screen opens
    ctx.audit_key  # noqa: B018 - likewise a missing audit key
    from clerk.app import ClerkApp
    from clerk.logs import setup_logging

    setup_logging(ctx)
    app = ClerkApp(ctx, demo=demo, counter=counter)
    app.run()
    if app.return_code not in (0, None):
        raise Failure("the workstation stopped after an error (see the log)")
    return 0


def run_tui(args, ctx) -> int:
    return _open_tui(ctx, demo=False, counter=getattr(args, "counter", None))


def ensure_audit_key(ctx) -> str | None:
    """Demo only: create an audit key in the secrets folder when none is set anywhere."""
    import secrets as pysecrets

    from clerk.secrets import get_secret, store_secret_file

    if get_secret("AUDIT_KEY", ctx.config, required=False):
        return None
    return str(store_secret_file("AUDIT_KEY", pysecrets.token_hex(32), ctx.config))


def demo(args, ctx) -> int:
    import os

    from clerk.domain.demo import seed_demo
    from clerk.paths import user_data_dir

    if not args.db and not os.environ.get("CLERK_DB_URL") and not ctx.config.database.url:
        ctx._db_url = f"sqlite:///{user_data_dir() / 'demo.db'}"
    key_file = ensure_audit_key(ctx)
    before, after = ctx.db.upgrade()
    report = seed_demo(ctx)
    from clerk.domain.demo_payments import seed_payments

    paid = seed_payments(ctx)
    if args.scale:
        from clerk.commands.report import generate_scale

        generate_scale(ctx, args.scale)
    print(f"demo database: {ctx.db_url}")
    if key_file:
        print(f"created an audit key for the demo in {key_file}")
    if before != after:
        print(f"schema created ({after})")
    created = report.created + paid.created
    print(("seeded: " + ", ".join(created)) if created else "already seeded; nothing added")
    print("users (name / role / password):")
    for username, role, password in report.staff:
        print(f"  {username:<8} {role:<11} {password}")
    if args.seed_only:
        return 0
    return _open_tui(ctx, demo=True, counter=getattr(args, "counter", None))


def serve(args, ctx) -> int:
    import ipaddress
    import shlex

    from clerk.errors import UsageError

    host = args.host.strip()
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise UsageError(
            "clerk serve binds to this machine only (127.0.0.1, ::1 or localhost); "
            "publish it through a TLS reverse proxy with authentication"
        )
    if not 1 <= args.port <= 65535:
        raise UsageError("--port must be between 1 and 65535")
    ctx.config  # noqa: B018 - a bad config is one line now, not in every browser session
    command = [sys.executable, "-m", "clerk"]
    if args.db:
        command += ["--db", args.db]
    if args.config:
        command += ["--config", args.config]
    if args.counter is not None:
        command += ["--counter", str(args.counter)]
    command.append("tui")
    from textual_serve.server import Server

    print(f"serving clerk on http://{host}:{args.port} (local only; Ctrl+C stops)")
    Server(
        shlex.join(command), host=host, port=args.port, title="clerk", public_url=args.public_url
    ).serve()
    return 0
