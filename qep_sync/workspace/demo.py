"""``qep-sync demo``: a demo workspace made afresh, synced, and its reminders sent to its outbox.

``run_demo`` returns what happened (the sync, the alerts, a sample digest) as data; the
command line prints it. The folder is recreated each time, and only when it is empty or
a demo folder already (marked by ``DEMO_MARK``): a person's folder is never overwritten.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from pathlib import Path

from qep_sync.alerts.job import AlertRun, Outcome, run_alerts
from qep_sync.alerts.store import STORE_NAME
from qep_sync.config import CONFIG_NAME, Config, load_config
from qep_sync.errors import UsageError
from qep_sync.jobs.check import Progress
from qep_sync.jobs.sync import SyncRun, run_sync
from qep_sync.workspace.create import create_workspace
from qep_sync.workspace.plan import CENTRAL_DIR, SERVICES_DIR

DEMO_MARK = ".qep-sync-demo"


@dataclass
class DemoRun:
    """What the demo made and did, and where to look."""

    directory: Path
    config: Config
    sync: SyncRun
    alerts: AlertRun
    sample: Outcome | None  # a correspondent's digest: it shows deadlines and anomalies

    @property
    def config_path(self) -> Path:
        return self.directory / CONFIG_NAME

    @property
    def services_dir(self) -> Path:
        return self.directory / SERVICES_DIR

    @property
    def central_dir(self) -> Path:
        return self.directory / CENTRAL_DIR


def run_demo(
    directory: Path, today: dt.date, now: dt.datetime, progress: Progress | None = None
) -> DemoRun:
    """Recreate the demo workspace in ``directory``, sync it and send its reminders."""
    mark = directory / DEMO_MARK
    if directory.is_dir() and any(directory.iterdir()) and not mark.exists():
        raise UsageError(
            f"{directory} n'est pas vide et n'est pas un dossier de démonstration : "
            "choisissez un autre dossier (qep-sync demo DOSSIER)"
        )
    create_workspace(directory, demo=True, today=today, force=True)
    mark.write_text("Dossier de démonstration de qep-sync : recréé par « qep-sync demo ».\n")
    config = load_config(directory / CONFIG_NAME)
    synced = run_sync(config, today, now=now, progress=progress)
    alerts = _send_afresh(config, today, now, synced)
    return DemoRun(directory, config, synced, alerts, _sample(alerts))


def _send_afresh(config: Config, today: dt.date, now: dt.datetime, synced: SyncRun) -> AlertRun:
    """The demo's digests, to its outbox, as if none had been sent before, even on a Sunday."""
    config = replace(config, alerts=replace(config.alerts, send_on_non_working_days=True))
    (config.state_dir / STORE_NAME).unlink(missing_ok=True)
    if config.alerts.outbox.is_dir():
        for old in config.alerts.outbox.glob("*.eml"):
            old.unlink()
    return run_alerts(config, today, dry_run=False, now=now, check=synced.check)


def _sample(run: AlertRun) -> Outcome | None:
    sent = [o for o in run.outcomes if o.status == "sent"]
    for outcome in sent:
        if any(d.role == "service" for d in outcome.digest.deliveries):
            return outcome
    return sent[0] if sent else None
