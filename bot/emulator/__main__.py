"""Run the emulator standalone: ``python -m bot.emulator --port 8081 --token 123:ABC``.

Options: ``--host``, ``--port`` (0 = any free port), ``--no-limits``, ``--no-record-calls``,
``--latency-ms`` (hold every Bot API call that long, to simulate a network round trip).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib

from .emulator import Emulator
from .limits import Limits


async def _serve(args: argparse.Namespace) -> None:
    emu = Emulator(args.token, Limits.off() if args.no_limits else Limits(),
                   record_calls=not args.no_record_calls, latency=args.latency_ms / 1000)
    url = await emu.start(args.host, args.port)
    print(f"Telegram Bot API emulator at {url}  (token {args.token}; "
          f"bot API {url}/bot<token>/<method>, control {url}/_emu/...)", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await emu.stop()


def main(argv: list[str] | None = None) -> None:
    """Parse arguments and serve until interrupted."""
    p = argparse.ArgumentParser(prog="python -m bot.emulator", description=__doc__)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8081)
    p.add_argument("--token", default="123456:TEST")
    p.add_argument("--no-limits", action="store_true", help="disable all rate limits")
    p.add_argument("--no-record-calls", action="store_true",
                   help="do not keep a record of every call (long benchmarks)")
    p.add_argument("--latency-ms", type=float, default=0.0,
                   help="hold every Bot API call this many milliseconds (benchmarks)")
    args = p.parse_args(argv)
    if args.latency_ms < 0:
        p.error("--latency-ms must be ≥ 0")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args))


if __name__ == "__main__":
    main()
