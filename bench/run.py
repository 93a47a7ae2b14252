"""Benchmark the complaint desk end to end: emulator and bot in their own processes.

    .venv/bin/python bench/run.py --users 500 --updates 5000                  # drain
    .venv/bin/python bench/run.py --users 500 --updates 5000 --rate 300       # steady latency
    .venv/bin/python bench/run.py --users 500 --updates 5000 --api-latency-ms 50
    .venv/bin/python bench/run.py --outbox 600                                # outbox vs limits
    .venv/bin/python bench/run.py --suite                                     # all four
Add ``--profile`` to record the bot with py-spy, ``--json FILE`` for machine-readable results,
``--db postgres`` for a fresh PostgreSQL database on 127.0.0.1:5432. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make `bench` and the project importable
    sys.path.insert(0, str(ROOT))

from bench.driver import (  # noqa: E402
    Control,
    LoadResult,
    collect_sends,
    flood_start,
    run_load,
)
from bench.procs import (  # noqa: E402
    Proc,
    cpu_seconds,
    free_port,
    peak_rss_mb,
    summarize_profile,
)
from bench.scenarios import SCENARIOS  # noqa: E402

TOKEN = "123456:BENCH"
PG_ADMIN = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
TELEGRAM_LIMITS = {"overall_per_second": 30, "per_chat_per_second": 1, "per_group_per_minute": 20}


@dataclass
class Spec:
    """One benchmark run."""

    name: str
    mode: str  # drain | steady | outbox
    users: int = 500
    updates: int = 5000
    rate: float | None = None
    api_latency_ms: float = 0.0
    scenario: str = "start"
    db: str = "sqlite"
    outbox_messages: int = 600


@dataclass
class Outcome:
    """Measured figures of one run."""

    spec: Spec
    figures: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    profile: str | None = None
    workdir: str | None = None


def pct(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank) of a non-empty list."""
    s = sorted(values)
    k = max(0, min(len(s) - 1, round(p / 100 * len(s) + 0.5) - 1))
    return s[k]


def bot_config(path: Path, limits: dict[str, int]) -> None:
    """Write the bot's TOML: limits as given, short long-poll, web server off if it has one."""
    from bot.config import FileConfig

    lines = ["[telegram]", "poll_timeout = 10", "", "[telegram.limits]"]
    lines += [f"{k} = {v}" for k, v in limits.items()]
    if "web" in FileConfig.model_fields:  # its HTTP port must not clash between runs
        lines += ["", "[web]", "enabled = false"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


async def create_pg_database() -> tuple[str, str]:
    """A fresh PostgreSQL database; returns (SQLAlchemy URL, name)."""
    import asyncpg

    name = f"bench_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    return f"{base}/{name}", name


async def drop_pg_database(name: str) -> None:
    """Drop a database made by create_pg_database."""
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def wait_until(pred: Any, limit_s: float, what: str, check: Any = None) -> None:
    """Poll an async predicate every 50 ms; ``check()`` may raise to abort early."""
    end = time.monotonic() + limit_s
    while time.monotonic() < end:
        if check:
            check()
        try:
            if await pred():
                return
        except Exception:  # noqa: BLE001, S110 - not up yet
            pass
        await asyncio.sleep(0.05)
    raise RuntimeError(f"timed out waiting for {what}")


def latency_figures(lat_s: list[float]) -> dict[str, float]:
    """p50/p95/p99/max/mean in milliseconds."""
    if not lat_s:
        return {}
    ms = [x * 1000 for x in lat_s]
    return {"p50_ms": pct(ms, 50), "p95_ms": pct(ms, 95), "p99_ms": pct(ms, 99),
            "max_ms": max(ms), "mean_ms": statistics.fmean(ms)}


def load_figures(res: LoadResult) -> dict[str, Any]:
    """Throughput and latency of a load run."""
    done = [s for s in res.steps if s.done_at is not None]
    # A step the bot is not meant to answer (a story told while it listens) is no timeout.
    waited = [s for s in res.steps if s.expected]
    f: dict[str, Any] = {"injected": len(res.steps), "answered": len(done),
                         "timeouts": len(waited) - len(done), "errors": len(res.errors),
                         "deferred_arrivals": res.deferred, "stray_events": res.stray_events,
                         "inject_requests": res.inject_requests}
    if done:
        first = min(s.inject_at for s in res.steps)
        last = max(s.done_at for s in done if s.done_at is not None)
        f["span_s"] = last - first
        f["updates_per_s"] = len(done) / (last - first) if last > first else float("nan")
        last_inject = max(s.inject_at for s in res.steps)
        f["offered_per_s"] = (len(res.steps) - 1) / (last_inject - first) if (
            last_inject > first) else float("nan")
        f.update(latency_figures([s.latency for s in done if s.latency is not None]))
    return f


async def run_one(spec: Spec, args: argparse.Namespace) -> Outcome:
    """Start emulator and bot, run the load, measure, stop everything."""
    out = Outcome(spec)
    work = Path(tempfile.mkdtemp(prefix=f"cb-bench-{spec.name}-"))
    out.workdir = str(work)
    py = sys.executable
    limits_on = spec.mode == "outbox"
    port = free_port()
    emu_cmd = [py, "-m", "bot.emulator", "--host", "127.0.0.1", "--port", str(port),
               "--token", TOKEN, "--no-record-calls"]
    if not limits_on:
        emu_cmd.append("--no-limits")
    if spec.api_latency_ms:
        emu_cmd += ["--latency-ms", str(spec.api_latency_ms)]
    base_url = f"http://127.0.0.1:{port}"
    pg_name: str | None = None
    emu: Proc | None = None
    bot: Proc | None = None
    profiler: Proc | None = None
    control = Control(base_url)
    try:
        # The emulator is the measuring instrument: always this checkout's.
        emu_env = {**os.environ, "PYTHONPATH": str(ROOT)}
        emu = Proc("emulator", emu_cmd, work / "emulator.log", env=emu_env, cwd=ROOT)
        await wait_until(lambda: control.stats(), 20, "the emulator",
                         lambda: _alive(emu))
        if spec.db == "postgres":
            db_url, pg_name = await create_pg_database()
        else:
            db_url = f"sqlite+aiosqlite:///{work / 'desk.db'}"
        bot_config(work / "bot.toml", TELEGRAM_LIMITS if limits_on else
                   dict.fromkeys(TELEGRAM_LIMITS, 0))
        env = {**os.environ, "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": base_url,
               "DATABASE_URL": db_url, "COMPLAINT_BOT_CONFIG": str(work / "bot.toml")}
        # The bot runs from --source (default this checkout); PYTHONPATH puts that tree ahead of
        # the editable install, whose finder comes after the path-based one.
        env["PYTHONPATH"] = os.pathsep.join([str(args.source), env.get("PYTHONPATH", "")])
        bot = Proc("bot", [py, "-m", "bot", "run"], work / "bot.log", env=env, cwd=work)

        async def polling() -> bool:
            calls = (await control.stats())["calls"]
            return bool(calls.get("getUpdates"))

        await wait_until(polling, 60, "the bot's first getUpdates", lambda: _alive(bot))
        await control.reset_stats()
        if args.profile:  # attach now: start-up (imports, migrations) stays out of the profile
            spy = shutil.which("py-spy", path=str(Path(py).parent)) or shutil.which("py-spy")
            if spy is None:
                raise RuntimeError("--profile needs py-spy: .venv/bin/pip install py-spy")
            profiler = Proc("py-spy", [spy, "record", "--pid", str(bot.pid), "--format", "raw",
                                       "--rate", str(args.profile_rate),
                                       "-o", str(work / "profile.txt")], work / "py-spy.log")
            await asyncio.sleep(1.0)  # py-spy needs a moment to attach
            _alive(profiler)
        cpu0, t0 = cpu_seconds(bot.pid), time.monotonic()
        emu_cpu0 = cpu_seconds(emu.pid)
        drv0 = resource.getrusage(resource.RUSAGE_SELF)
        if spec.mode == "outbox":
            out.figures.update(await outbox_check(control, spec.outbox_messages))
        else:
            res = await run_load(control, users=spec.users, updates=spec.updates,
                                 scenario=SCENARIOS[spec.scenario], rate=spec.rate,
                                 deadline_s=args.deadline)
            out.errors += res.errors[:20]
            out.figures.update(load_figures(res))
        wall = time.monotonic() - t0
        drv1 = resource.getrusage(resource.RUSAGE_SELF)
        _alive(bot)
        if profiler is not None:
            profiler.stop()
        bot_cpu = cpu_seconds(bot.pid) - cpu0
        stats = await control.stats()
        out.figures.update({
            "wall_s": wall, "bot_cpu_s": bot_cpu, "bot_cpu_util": bot_cpu / wall,
            "bot_peak_rss_mb": peak_rss_mb(bot.pid),
            "emulator_cpu_s": cpu_seconds(emu.pid) - emu_cpu0,
            "driver_cpu_s": (drv1.ru_utime + drv1.ru_stime) - (drv0.ru_utime + drv0.ru_stime),
            "api_calls": stats["calls"],
            "http_429": sum(per.get("429", 0) for per in stats["calls"].values()),
        })
    except Exception as exc:  # noqa: BLE001 - reported with the processes' last output
        out.errors.append(f"{type(exc).__name__}: {exc}")
        for p in (emu, bot):
            if p is not None:
                out.errors.append(f"--- {p.name} log tail ({p.log_path}):\n{p.tail()}")
    finally:
        await control.close()
        for p in (profiler, bot, emu):
            if p is not None:
                p.stop()
        if pg_name:
            await drop_pg_database(pg_name)
    prof = work / "profile.txt"
    if args.profile and prof.exists():
        out.profile = summarize_profile(prof, args.profile_top)
        (work / "profile-summary.txt").write_text(out.profile, encoding="utf-8")
    if not args.keep and not out.errors and not args.profile:
        shutil.rmtree(work, ignore_errors=True)
        out.workdir = None
    return out


def _alive(p: Proc | None) -> None:
    if p is not None and not p.alive():
        raise RuntimeError(f"{p.name} exited with {p.popen.returncode}:\n{p.tail()}")


async def outbox_check(control: Control, n: int) -> dict[str, Any]:
    """``n`` customers send /start at once; the replies leave under Telegram's limits."""
    after = (await control.stats())["last_event"]
    chats = set(range(900_001, 900_001 + n))
    first_inject = await flood_start(control, n)
    limit = TELEGRAM_LIMITS["overall_per_second"]
    sends = await collect_sends(control, after, chats, n, deadline_s=n / limit * 2 + 30)
    f: dict[str, Any] = {"queued": n, "sent": len(sends), "limit_per_s": limit}
    if len(sends) >= 2:
        ts = sorted(e["at"] for e in sends)
        rate = (len(ts) - 1) / (ts[-1] - ts[0])
        # The busiest one-second window the emulator saw (what its limiter judges).
        j, busiest = 0, 0
        for i, t in enumerate(ts):
            while ts[j] <= t - 1.0:
                j += 1
            busiest = max(busiest, i - j + 1)
        f.update({"sends_per_s": rate, "of_limit_pct": 100 * rate / limit,
                  "busiest_1s_window": busiest, "first_reply_after_s": ts[0] - first_inject,
                  "span_s": ts[-1] - ts[0]})
    return f


# ---- reporting --------------------------------------------------------------------------------
def _fmt(v: Any, nd: int = 1) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:,.{nd}f}"
    return str(v)


def table(outcomes: list[Outcome]) -> str:
    """A compact text table of all runs."""
    head = ["run", "mode", "users", "updates", "rate", "api ms", "db", "upd/s", "p50 ms",
            "p95 ms", "p99 ms", "max ms", "t/o", "429", "bot CPU s", "CPU %", "RSS MB",
            "emu CPU s"]
    rows = [head]
    for o in outcomes:
        s, f = o.spec, o.figures
        if s.mode == "outbox":
            thr = f"{_fmt(f.get('sends_per_s'))} sends/s ({_fmt(f.get('of_limit_pct'))}%)"
            users, updates, p50 = "-", str(f.get("sent", "-")) + f"/{s.outbox_messages}", "-"
            p95 = p99 = mx = tmo = "-"
        else:
            thr = _fmt(f.get("updates_per_s"))
            users, updates = str(s.users), str(s.updates)
            p50, p95, p99, mx = (_fmt(f.get(k)) for k in ("p50_ms", "p95_ms", "p99_ms",
                                                          "max_ms"))
            tmo = _fmt(f.get("timeouts"))
        rows.append([s.name, s.mode, users, updates, _fmt(s.rate, 0), _fmt(s.api_latency_ms, 0),
                     s.db, thr, p50, p95, p99, mx, tmo, _fmt(f.get("http_429")),
                     _fmt(f.get("bot_cpu_s")), _fmt(100 * f["bot_cpu_util"], 0)
                     if "bot_cpu_util" in f else "-",
                     _fmt(f.get("bot_peak_rss_mb"), 0), _fmt(f.get("emulator_cpu_s"))])
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines = ["  ".join(c.rjust(w) if i > 1 else c.ljust(w)
                       for i, (c, w) in enumerate(zip(r, widths, strict=True))) for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def revision(source: Path) -> str:
    """What code the bot ran: ``source/.bench-revision`` or git's short hash (+ "-dirty")."""
    label = source / ".bench-revision"
    if label.exists():
        return label.read_text().strip()
    try:
        rev = subprocess.run(["git", "-C", str(source), "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(source), "status", "--porcelain", "--",
                                "bot", "handlers", "storage"],
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return rev + ("-dirty" if dirty else "")


def machine() -> dict[str, str]:
    """Where it ran."""
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "nproc": str(os.cpu_count()), "cpu": cpu, "python": platform.python_version()}


def specs_from_args(args: argparse.Namespace) -> list[Spec]:
    """The runs the command line asks for."""
    common = {"users": args.users, "updates": args.updates, "scenario": args.scenario,
              "db": args.db}
    if args.suite:
        return [Spec("drain", "drain", **common),
                Spec("steady", "steady", rate=args.rate or 300.0, **common),
                Spec("api-latency", "drain", api_latency_ms=args.api_latency_ms or 50.0,
                     **common),
                Spec("outbox", "outbox", outbox_messages=args.outbox or 600, db=args.db)]
    if args.outbox:
        return [Spec("outbox", "outbox", outbox_messages=args.outbox, db=args.db)]
    mode = "steady" if args.rate else "drain"
    name = mode if not args.api_latency_ms else f"{mode}-api{args.api_latency_ms:g}ms"
    return [Spec(name, mode, rate=args.rate, api_latency_ms=args.api_latency_ms, **common)]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command line."""
    p = argparse.ArgumentParser(prog="bench/run.py", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--users", type=int, default=500, help="simulated customers (default 500)")
    p.add_argument("--updates", type=int, default=5000, help="updates to inject (default 5000)")
    p.add_argument("--rate", type=float, help="steady mode: inject this many updates/s overall")
    p.add_argument("--api-latency-ms", type=float, default=0.0,
                   help="every Bot API call takes this long (emulator --latency-ms)")
    p.add_argument("--scenario", choices=sorted(SCENARIOS), default="start")
    p.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    p.add_argument("--outbox", type=int, metavar="N",
                   help="outbox check: N chats each get one reply, Telegram limits on")
    p.add_argument("--suite", action="store_true",
                   help="drain, steady (--rate or 300/s), API latency (or 50 ms), outbox (600)")
    p.add_argument("--profile", action="store_true",
                   help="record the bot with py-spy during the load (attached after start-up); "
                        "print top functions and packages")
    p.add_argument("--profile-rate", type=int, default=250, help="py-spy samples/s")
    p.add_argument("--profile-top", type=int, default=25)
    p.add_argument("--deadline", type=float, default=600.0, help="max seconds per load run")
    p.add_argument("--keep", action="store_true", help="keep each run's work directory")
    p.add_argument("--source", type=Path, default=ROOT,
                   help="project tree the bot runs from (e.g. a `git archive` snapshot); "
                        "the emulator always runs from this checkout")
    p.add_argument("--json", metavar="FILE", help="also write results as JSON ('-' = stdout)")
    args = p.parse_args(argv)
    if args.users < 1 or args.updates < 1 or (args.rate is not None and args.rate <= 0):
        p.error("--users, --updates and --rate must be positive")
    return args


async def amain(args: argparse.Namespace) -> int:
    """Run the requested benchmarks and report."""
    outcomes: list[Outcome] = []
    for spec in specs_from_args(args):
        print(f"running {spec.name} ({spec.mode}) …", file=sys.stderr, flush=True)
        outcomes.append(await run_one(spec, args))
    m = machine()
    m["bot_source"], m["bot_revision"] = str(args.source), revision(args.source)
    print(f"# {m['date_utc']}  {m['nproc']} CPU  {m['cpu']}  Python {m['python']}  "
          f"bot {m['bot_revision']} from {m['bot_source']}")
    print(table(outcomes))
    for o in outcomes:
        if o.spec.mode == "outbox" and o.figures:
            f = o.figures
            print(f"outbox: {f.get('sent')}/{f.get('queued')} sent in {_fmt(f.get('span_s'))} s "
                  f"→ {_fmt(f.get('sends_per_s'))}/s of {f.get('limit_per_s')}/s "
                  f"({_fmt(f.get('of_limit_pct'))}%), busiest 1 s window "
                  f"{f.get('busiest_1s_window')}, 429s: {f.get('http_429')}")
        if o.spec.mode != "outbox" and o.figures.get("deferred_arrivals"):
            print(f"{o.spec.name}: {o.figures['deferred_arrivals']} arrivals found no idle user "
                  f"(offered {_fmt(o.figures.get('offered_per_s'))}/s < requested "
                  f"{_fmt(o.spec.rate, 0)}/s: the bot fell behind)")
        if o.errors:
            print(f"{o.spec.name}: {len(o.errors)} error(s):")
            for e in o.errors[:5]:
                print("  " + e.replace("\n", "\n  "))
        if o.profile:
            print(f"\n## profile of the bot, run {o.spec.name} (raw: {o.workdir}/profile.txt)")
            print(o.profile)
        elif o.workdir:
            print(f"{o.spec.name}: work directory kept at {o.workdir}")
    if args.json:
        doc = {"machine": m, "runs": [{"spec": o.spec.__dict__, "figures": o.figures,
                                       "errors": o.errors, "workdir": o.workdir}
                                      for o in outcomes]}
        args.json_text = json.dumps(doc, indent=2, ensure_ascii=False, default=str)
    return 1 if any(o.errors for o in outcomes) else 0


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    args = parse_args(argv)
    code = asyncio.run(amain(args))
    if args.json == "-":
        print(args.json_text)
    elif args.json:
        Path(args.json).write_text(args.json_text + "\n", encoding="utf-8")
    return code


if __name__ == "__main__":
    sys.exit(main())
