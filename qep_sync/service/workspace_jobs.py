"""What ``serve`` runs at each tick: ``sync`` and ``alerts`` of one workspace.

``WorkspaceJobs`` runs the real jobs (the alerts reuse the run that a sync of the same tick
has just read); the tests of the loop give ``ServeLoop`` a fake with the same two methods.
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol

from qep_sync.alerts.job import run_alerts, summarize_alerts
from qep_sync.alerts.transport import Transport
from qep_sync.config import Config
from qep_sync.env import Environment
from qep_sync.jobs import check as check_job
from qep_sync.jobs.check import CheckRun, Progress
from qep_sync.jobs.outcome import RunSummary
from qep_sync.jobs.sync import run_sync, summarize_sync

# A sync typed at the terminal holds the workspace: serve waits this long (a stop request
# must not wait for two minutes), then journals the tick as failed and tries at the next.
LOCK_WAIT = 30.0


class Jobs(Protocol):
    """What serve runs; ``WorkspaceJobs`` in production, a fake in the tests of the loop."""

    def run(self, kind: str, config: Config, now: dt.datetime, progress: Progress) -> RunSummary:
        """Run ``sync`` or ``alerts``; return how it ended (or raise: the loop contains it)."""
        ...

    def end_tick(self) -> None:
        """The tick is over: forget what was read for it."""
        ...


class WorkspaceJobs:
    """The real jobs: ``run_sync`` and ``run_alerts``, the alerts reusing a sync of the same tick."""

    def __init__(self, sender: Transport | None = None, env: Environment | None = None):
        self.sender = sender
        self.env = env
        self._fresh: tuple[dt.date, CheckRun] | None = None

    def run(self, kind: str, config: Config, now: dt.datetime, progress: Progress) -> RunSummary:
        today = now.date()
        if kind == "sync":
            result = run_sync(config, today, now=now, progress=progress, lock_wait=LOCK_WAIT)
            self._fresh = (today, result.check)
            return summarize_sync(result)
        fresh = self._fresh
        check = (
            fresh[1]
            if fresh and fresh[0] == today
            else check_job.run_check(config, today, progress=progress)
        )
        run = run_alerts(
            config, today, dry_run=False, now=now, sender=self.sender, check=check, env=self.env
        )
        return summarize_alerts(run)

    def end_tick(self) -> None:
        self._fresh = None
