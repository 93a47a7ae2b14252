"""Child processes (emulator, bot) and what /proc says about them; py-spy profile summaries."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections import Counter
from pathlib import Path

CLK_TCK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime


def peak_rss_mb(pid: int) -> float:
    """Peak resident set size (VmHWM) in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def children(pid: int) -> list[int]:
    """Direct child pids."""
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            out += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return out


class Proc:
    """A child process with its output in a log file; stopped politely, then firmly."""

    def __init__(self, name: str, cmd: list[str], log: Path, env: dict[str, str] | None = None,
                 cwd: Path | None = None) -> None:
        self.name, self.cmd, self.log_path = name, cmd, log
        self._log = log.open("wb")
        self.popen = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT,
                                      env=env, cwd=cwd)

    @property
    def pid(self) -> int:
        """The process id."""
        return self.popen.pid

    def alive(self) -> bool:
        """Still running?"""
        return self.popen.poll() is None

    def tail(self, n: int = 30) -> str:
        """The last lines of its output."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def stop(self, grace: float = 15.0) -> int | None:
        """SIGINT (clean shutdown, lets profilers write), then SIGTERM, then SIGKILL."""
        for sig, wait in ((signal.SIGINT, grace), (signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
            if not self.alive():
                break
            self.popen.send_signal(sig)
            try:
                self.popen.wait(wait)
            except subprocess.TimeoutExpired:
                continue
        self._log.close()
        return self.popen.poll()


def wait_child(pid: int, timeout: float = 10.0) -> int:
    """The first child of ``pid`` (the bot under py-spy)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        kids = children(pid)
        if kids:
            return kids[0]
        time.sleep(0.05)
    raise RuntimeError(f"process {pid} started no child")


# ---- py-spy collapsed stacks ----------------------------------------------------------------
def _frame_name(frame: str) -> tuple[str, str]:
    """('func (file)', 'file') from py-spy's 'func (file:line)'."""
    name, _, loc = frame.partition(" (")
    path = loc.rstrip(")").rsplit(":", 1)[0]
    return f"{name} ({path})", path


def _module(path: str) -> str:
    """Top-level package of a file path as py-spy prints it."""
    p = path.replace("\\", "/")
    for marker in ("site-packages/", "lib/python3.11/", "/work/main/"):
        if marker in p:
            p = p.split(marker, 1)[1]
            break
    head = p.split("/", 1)[0]
    return head.removesuffix(".py")


# Activities, checked in order against each sample's frames (first match wins). SQLAlchemy runs
# its sync core in greenlets, which py-spy shows as stacks of their own (not under the loop).
ACTIVITIES: list[tuple[str, tuple[str, ...]]] = [
    ("sqlite thread (aiosqlite worker: SQLite in C)", ("_connection_worker_thread",)),
    ("other threads", ("Thread._bootstrap",)),
    ("Bot API calls: send (outbox sender)", ("Sender._send",)),
    ("Bot API calls: getUpdates (poller)", ("bot_api.py", "Poller.run")),
    ("outbox sender: fetch/lease/mark (DB)", ("Sender._fetch", "Sender._flush_results",
                                              "Sender.run")),
    ("inbox: store batch (DB)", ("bot/inbox.py:", "store (")),
    ("PTB Update.de_json (parse)", ("Update.de_json",)),
    ("handlers + services (incl. their DB calls)", ("process_update",)),
    ("inbox worker: batch tx, savepoints, mark_done", ("InboxWorker",)),
    ("SQLAlchemy sync core (greenlet stacks)", ("sqlalchemy/",)),
    ("event loop: select/wakeups", ("EpollSelector.select", "_read_from_self",
                                    "_write_to_self")),
]


def _activity(stack: str) -> str:
    for name, needles in ACTIVITIES:
        if name == "inbox: store batch (DB)":
            if "Poller.run" in stack and "store (" in stack:
                return name
            continue
        if name == "Bot API calls: getUpdates (poller)":
            if "Poller.run" in stack and "call (bot/bot_api.py" in stack:
                return name
            continue
        if any(n in stack for n in needles):
            return name
    return "other (asyncio, PTB, misc)"


def summarize_profile(raw: Path, top: int = 25) -> str:
    """Self and inclusive hot spots, and time per package, from a py-spy ``--format raw`` file."""
    self_c: Counter[str] = Counter()
    incl: Counter[str] = Counter()
    mods: Counter[str] = Counter()
    acts: Counter[str] = Counter()
    total = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        acts[_activity(stack)] += n
        frames = [_frame_name(f) for f in stack.split(";") if " (" in f]
        if not frames:
            continue
        self_c[frames[-1][0]] += n
        mods[_module(frames[-1][1])] += n
        for name in {f[0] for f in frames}:
            incl[name] += n
    if not total:
        return "(no samples)"
    out = [f"{total} samples (CPU-active only; all threads)", "", "by activity:"]
    out += [f"  {100 * c / total:5.1f}%  {a}" for a, c in acts.most_common()]
    out += ["", "by package (self time):"]
    out += [f"  {100 * c / total:5.1f}%  {m}" for m, c in mods.most_common(15)]
    out += ["", f"top {top} functions by self time:"]
    out += [f"  {100 * c / total:5.1f}%  {f}" for f, c in self_c.most_common(top)]
    out += ["", f"top {top} functions by inclusive time:"]
    out += [f"  {100 * c / total:5.1f}%  {f}" for f, c in incl.most_common(top)]
    return "\n".join(out)
