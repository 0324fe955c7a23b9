"""The `relay` command."""

from __future__ import annotations

import argparse
import logging
import sys

from relay import __version__
from relay.settings import SettingsError, load_settings


def _configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s[%(process)d] %(message)s",
        stream=sys.stderr,
    )


def _serve() -> int:
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"relay: {exc}", file=sys.stderr)
        return 2
    _configure_logging(settings.log_level)
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="relay", description="LLM API gateway")
    parser.add_argument("--version", action="version", version=f"relay {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="run the gateway (configured by environment variables)")
    args = parser.parse_args(argv)
    if args.command == "serve":
        return _serve()
    parser.error(f"unknown command {args.command}")
    return 2
