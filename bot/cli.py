"""The `complaint-bot` command."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from importlib.resources import files
from pathlib import Path

from bot.config import Config, ConfigError, load_config
from bot.domain.chain import ChainError

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
    staff = sub.add_parser("staff", help="manage the staff roster: add | list | remove | set-role")
    ssub = staff.add_subparsers(dest="staff_command", metavar="ACTION", required=True)
    sa = ssub.add_parser("add", help="add (or update and reactivate) a staff member")
    sa.add_argument("telegram_id", type=int)
    sa.add_argument("name")
    sa.add_argument("--role", default="steward",
                    help="steward | supervisor | manager | committee | admin")
    sa.add_argument("--supervisor", type=int, help="telegram_id of their supervisor")
    sa.add_argument("--categories", default="", help="comma-separated category keys")
    sa.add_argument("--areas", default="", help="comma-separated areas")
    ssub.add_parser("list", help="show the roster")
    sr = ssub.add_parser("remove", help="deactivate a staff member (their history stays)")
    sr.add_argument("telegram_id", type=int)
    ss = ssub.add_parser("set-role", help="change a staff member's role")
    ss.add_argument("telegram_id", type=int)
    ss.add_argument("role")
    sb = sub.add_parser("sandbox", help="chat with the bot as a customer in this terminal "
                                        "(local emulator, no token)")
    sb.add_argument("--port", type=int, default=0, help="emulator port (default: any free one)")
    sb.add_argument("--user-id", type=int, default=5001)
    sb.add_argument("--language", default="zh-hans", help="the customer's Telegram language_code")
    return p


# Libraries whose DEBUG/INFO output carries secrets or customer data, and the most they may say
# whatever -v asks: httpx/httpcore log every request URL (the URL carries the bot token); PTB logs
# call parameters (customers' texts and phone numbers) at DEBUG; aiosqlite logs every statement
# with its parameters at DEBUG, and sqlalchemy.engine every statement and its parameters at
# INFO (names, phone numbers, stories). -v is for our own modules.
QUIET_LOGGERS = {"httpx": logging.WARNING, "httpcore": logging.WARNING,
                 "telegram": logging.INFO, "alembic.runtime.plugins": logging.WARNING,
                 "aiosqlite": logging.WARNING, "sqlalchemy": logging.WARNING,
                 "asyncpg": logging.WARNING}


def setup_logging(verbose: bool) -> None:
    """Configure logging for the command: DEBUG with -v, never customer data at any level."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger().setLevel(logging.DEBUG if verbose else logging.INFO)
    for name, level in QUIET_LOGGERS.items():
        logging.getLogger(name).setLevel(level)


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    # Before the desk installs its own handler nothing has started: SIGTERM is a clean stop.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    args = _parser().parse_args(argv)
    setup_logging(args.verbose)
    if args.command is None:
        _parser().print_help()
        return 0
    if args.command == "init":
        return _init(args.path, args.force)
    try:
        config = load_config(args.config)
    except ConfigError as err:
        return _config_error(str(err))
    if args.command == "migrate":
        from storage.migrate import upgrade

        upgrade(config.env.database_url)
        print("database is up to date")
        return 0
    if args.command == "staff":
        return asyncio.run(_staff(config, args))
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
    try:
        asyncio.run(_serve(config))
    except ConfigError as err:  # a port in use, a token Telegram rejects
        return _config_error(str(err))
    except ChainError as err:  # the roster in the file, checked against the database
        return _config_error(_roster_problem(config, err))
    return 0


async def _serve(config: Config) -> None:
    """Serve until SIGTERM or SIGINT, then stop gracefully (see App.stop)."""
    from bot.app import App

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        # systemd, Docker and Kubernetes send SIGTERM: dying at once would leave sends
        # delivered but unrecorded, to be sent again after the restart.
        loop.add_signal_handler(sig, stop.set)
    await App(config).run_forever(stop)


def _config_error(problem: str) -> int:
    """Print a configuration problem as one line; the exit code for it."""
    print(f"complaint-bot: config error: {problem}", file=sys.stderr)
    return EXIT_CONFIG


def _roster_problem(config: Config, err: ChainError) -> str:
    return f"{config.source or 'config'}: staff: {err}"


async def _staff(config: Config, args: argparse.Namespace) -> int:
    from bot.clock import Clock
    from bot.services import roster
    from storage.db import create_engine, is_sqlite, session_factory
    from storage.migrate import upgrade_async
    from storage.uow import Database

    url = config.env.database_url
    await upgrade_async(url)
    engine = create_engine(url)
    db = Database(session_factory(engine), serialize_writes=is_sqlite(url))
    clock = Clock()
    try:
        async with db.uow() as uow:
            await roster.bootstrap(uow, clock, config.file.staff)
            cmd = args.staff_command
            if cmd == "add":
                rows = [await roster.add(uow, clock, args.telegram_id, args.name, args.role,
                                         args.supervisor, _split(args.categories),
                                         _split(args.areas))]
            elif cmd == "remove":
                rows = [await roster.remove(uow, args.telegram_id)]
            elif cmd == "set-role":
                rows = [await roster.set_role(uow, args.telegram_id, args.role)]
            else:
                rows = await roster.listing(uow)
            await uow.commit()
    except roster.RosterError as err:
        print(f"complaint-bot: {err}", file=sys.stderr)
        return 1
    except ChainError as err:
        return _config_error(_roster_problem(config, err))
    finally:
        await engine.dispose()
    print(f"{'telegram_id':>12}  {'role':<10} {'supervisor':>12}  {'active':<6} name "
          "[categories | areas]")
    for r in rows:
        print(f"{r.telegram_id:>12}  {r.role:<10} {r.supervisor or '':>12}  "
              f"{'yes' if r.active else 'no':<6} {r.name} "
              f"[{','.join(r.categories)} | {','.join(r.areas)}]")
    return 0


def _split(csv: str) -> list[str]:
    return [p.strip() for p in csv.split(",") if p.strip()]


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
