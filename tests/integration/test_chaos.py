"""The chaos run, small: nothing lost or doubled while the bot is killed and the API fails.

Customers file complaints and stewards claim and answer while real bot processes are killed
with SIGKILL and SIGTERM at random moments and restarted, and the emulator fails 5 % of all
Bot API calls (429, 5xx, timeouts, sends delivered but unanswered). The large run is
`bench/chaos.py` (figures in bench/RESULTS.md).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.chaos import Report, Spec, run_chaos


def _assert_kept_every_promise(report: Report, spec: Spec) -> None:
    assert report.problems() == [], report.as_dict()
    # A customer confused by a repeated read-back may file one more: never fewer tickets.
    assert report.tickets >= report.acknowledged == spec.customers * spec.complaints_each
    assert report.kills["SIGKILL"] >= 1 and report.kills["SIGTERM"] >= 1, report.kills
    # A bot asked to stop finishes what it has in hand and exits 0 (never killed at the grace).
    assert set(report.sigterm_exit_codes) == {0}, report.sigterm_exit_codes
    assert sum(report.faults_injected.values()) > 0  # the faults did hit


@pytest.mark.timeout(900)
async def test_chaos_on_sqlite(tmp_path: Path) -> None:
    spec = Spec(customers=25, complaints_each=2, kill_every=(3.0, 6.0), deadline=600,
                workdir=tmp_path, seed=7)
    _assert_kept_every_promise(await run_chaos(spec), spec)


@pytest.mark.postgres
@pytest.mark.timeout(900)
async def test_chaos_on_postgres_with_two_instances(pg_url: str, tmp_path: Path) -> None:
    spec = Spec(customers=25, complaints_each=2, instances=2, db_url=pg_url,
                kill_every=(3.0, 6.0), deadline=600, workdir=tmp_path, seed=11)
    _assert_kept_every_promise(await run_chaos(spec), spec)
