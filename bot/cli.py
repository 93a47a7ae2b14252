"""The `complaint-bot` command."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
from importlib.resources import files
from pathlib import Path

from bot.config import Config, ConfigError, load_config

EXIT_CONFIG = 2


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="complaint-bot",
        description="A Telegram complaint desk: intake, tickets, stewards, deadlines, follow-ups.")
    p.add_argument("--config", type=Path, help="TOML file (default: $COMPLAINT_BOT_CONFIG)")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.add_parser("run", help="run the bot (with no TELEGRAM_BOT_TOKEN: the local sandbox)")
    sub.add_parser("migrate", help="apply database migrations and exit")
    init = sub.add_parser("init", help="write a fully commented example config file")
    init.add_argument("path", type=Path, nargs="?", default=Path("complaint-bot.toml"))
    init.add_argument("--force", action="store_true", help="overwrite an existing file")
    sb = sub.add_parser("sandbox", help="chat with the bot as a customer in this terminal "
                                        "(local emulator, no token)")
    sb.add_argument("--port", type=int, default=0, help="emulator port (default: any free one)")
    sb.add_argument("--user-id", type=int, default=5001)
    sb.add_argument("--language", default="zh-hans", help="the customer's Telegram language_code")
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # httpx logs every request URL, and the URL carries the bot token; PTB logs call
    # parameters (customers' texts and phone numbers) at DEBUG. Neither belongs in our logs.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    logging.getLogger("telegram").setLevel(logging.INFO)
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    if args.command is None:
        _parser().print_help()
        return 0
    if args.command == "init":
        return _init(args.path, args.force)
    try:
        config = load_config(args.config)
    except ConfigError as err:
        print(f"complaint-bot: config error: {err}", file=sys.stderr)
        return EXIT_CONFIG
    if args.command == "migrate":
        from storage.migrate import upgrade

        upgrade(config.env.database_url)
        print("database is up to date")
        return 0
    if args.command == "run" and config.env.telegram_bot_token:
        return _run(config)
    from bot.sandbox import run_sandbox

    if not args.verbose:  # the terminal is the chat: keep it for the conversation
        logging.getLogger().setLevel(logging.WARNING)
    port = getattr(args, "port", 0)
    user_id = getattr(args, "user_id", 5001)
    language = getattr(args, "language", "zh-hans")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run_sandbox(config, port=port, user_id=user_id, language_code=language))
    return 0


def _run(config: Config) -> int:
    from bot.app import App

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(App(config).run_forever())
    return 0


def _init(path: Path, force: bool) -> int:
    if path.exists() and not force:
        print(f"complaint-bot: {path} exists; use --force to overwrite", file=sys.stderr)
        return 1
    path.write_text(files("bot").joinpath("example.toml").read_text(encoding="utf-8"),
                    encoding="utf-8")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
