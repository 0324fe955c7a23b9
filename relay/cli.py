"""The `relay` command."""

from __future__ import annotations

import argparse
import sys

from relay import __version__
from relay.logfmt import configure_logging
from relay.settings import SettingsError, load_settings


def _serve() -> int:
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"relay: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level, settings.log_format)
    from relay.embedded_redis import EmbeddedRedisError
    from relay.supervisor import StartupError, Supervisor

    supervisor = Supervisor(settings)
    try:
        return supervisor.run()
    except (EmbeddedRedisError, StartupError) as exc:
        print(f"relay: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"relay: cannot start: {exc.strerror or exc}", file=sys.stderr)
        return 1


def _import(args: argparse.Namespace) -> int:
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"relay: {exc}", file=sys.stderr)
        return 2
    configure_logging("WARNING", settings.log_format, role="import")
    from relay.importer import run_import

    return run_import(
        settings,
        args.source,
        with_logs=args.with_logs,
        dry_run=args.dry_run,
        force=args.force,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="relay", description="LLM API gateway")
    parser.add_argument("--version", action="version", version=f"relay {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="run the gateway (configured by environment variables)")
    imp = sub.add_parser(
        "import",
        help="copy a One API / new-api database into relay's (run while relay is stopped)",
        description="Copy users, tokens, channels, options and redemptions (ids and keys "
        "kept) from a One API or new-api database into the database relay is configured for "
        "(DATA_DIR / SQL_DSN, with the CRYPTO_SECRET relay will use). The target must be empty.",
    )
    imp.add_argument(
        "--from",
        dest="source",
        required=True,
        metavar="SQL_DSN",
        help="a SQLite file or sqlite:///path, postgres://..., or a MySQL DSN (needs aiomysql)",
    )
    imp.add_argument("--with-logs", action="store_true", help="also copy logs and quota_data")
    imp.add_argument("--dry-run", action="store_true", help="read and convert; write nothing")
    imp.add_argument(
        "--force", action="store_true", help="empty relay's tables first if they hold data"
    )
    args = parser.parse_args(argv)
    if args.command == "serve":
        return _serve()
    if args.command == "import":
        return _import(args)
    parser.error(f"unknown command {args.command}")
    return 2
