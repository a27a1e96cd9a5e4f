"""``qep-sync demo``: a demo workspace made afresh, synced, and its reminders sent to its outbox.

``run_demo`` returns what happened (the sync, the alerts, a sample digest) as data; the
command line prints it. The folder is recreated each time, and only when it is empty or
a demo folder already (marked by ``DEMO_MARK``): a person's folder is never overwritten.
Each run goes into the workspace's journal like any other (``journal``: the command line's
journaled run), so that ``qep-sync status`` right after the demo is healthy.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from qep_sync.alerts.job import AlertRun, Outcome, run_alerts, summarize_alerts
from qep_sync.alerts.store import STORE_NAME
from qep_sync.config import CONFIG_NAME, Config, load_config
from qep_sync.errors import UsageError
from qep_sync.jobs.audit import AuditRun, run_audit
from qep_sync.jobs.check import Progress
from qep_sync.jobs.pilote import PiloteExport, run_pilote_export
from qep_sync.jobs.report import ReportRun, run_report
from qep_sync.jobs.sync import SyncRun, run_sync, summarize_sync
from qep_sync.workspace.create import create_workspace
from qep_sync.workspace.demo_history import copil_section, seed_history
from qep_sync.workspace.plan import CENTRAL_DIR, SERVICES_DIR

DEMO_MARK = ".qep-sync-demo"
DELIVERABLES_DIR = "livrables"
# The demo's [pilote] section: indicators one service reports, with made-up identifiers.
PILOTE_SECTION = """
[pilote]  # qep-sync export pilote ; identifiants fictifs, à remplacer par ceux de PILOTE
zone = "D25"

[pilote.indicateurs."Temps d'attente moyen au guichet"]
identifiant = "IND-901"

[pilote.indicateurs."Délai d'instruction des CNI-passeports"]
identifiant = "IND-902"

[pilote.indicateurs."Taux de dossiers incomplets"]
identifiant = "IND-903"
"""
# A run journaled by the caller: (config, "sync" or "alerts") -> a context whose value takes
# the run's ``summary`` (service.journal's ``Entry``); the workspace layer does not import it.
Journaled = Callable[[Config, str], AbstractContextManager[Any]]


@dataclass
class Deliverables:
    """The quality lead's outputs of the demo year, in ``folder``."""

    folder: Path
    report: ReportRun
    audit: AuditRun
    pilote: PiloteExport


@dataclass
class DemoRun:
    """What the demo made and did, and where to look."""

    directory: Path
    config: Config
    sync: SyncRun
    alerts: AlertRun
    sample: Outcome | None  # a correspondent's digest: it shows deadlines and anomalies
    deliverables: Deliverables | None = None  # the bilan, the audit pack, the PILOTE export

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
    directory: Path,
    today: dt.date,
    now: dt.datetime,
    progress: Progress | None = None,
    journal: Journaled | None = None,
) -> DemoRun:
    """Recreate the demo workspace in ``directory``, sync it and send its reminders; each run
    journaled through ``journal`` when given."""
    mark = directory / DEMO_MARK
    if directory.is_dir() and any(directory.iterdir()) and not mark.exists():
        raise UsageError(
            f"{directory} n'est pas vide et n'est pas un dossier de démonstration : "
            "choisissez un autre dossier (qep-sync demo DOSSIER)"
        )
    create_workspace(directory, demo=True, today=today, force=True)
    mark.write_text("Dossier de démonstration de qep-sync : recréé par « qep-sync demo ».\n")
    with open(directory / CONFIG_NAME, "a", encoding="utf-8") as fh:
        fh.write(copil_section(today) + PILOTE_SECTION)
    config = load_config(directory / CONFIG_NAME)
    seed_history(config, today)
    journaled = journal or _not_journaled
    with journaled(config, "sync") as entry:
        synced = run_sync(config, today, now=now, progress=progress)
        entry.summary = summarize_sync(synced)
    with journaled(config, "alerts") as entry:
        alerts = _send_afresh(config, today, now, synced)
        entry.summary = summarize_alerts(alerts)
    demo = DemoRun(directory, config, synced, alerts, _sample(alerts))
    demo.deliverables = _deliverables(config, today, directory / DELIVERABLES_DIR)
    return demo


def _deliverables(config: Config, today: dt.date, folder: Path) -> Deliverables:
    """The bilan of the demo year, the audit pack and last month's PILOTE export."""
    report = run_report(config, today.year, today, folder)
    audit = run_audit(config, today, None, folder)
    pilote = run_pilote_export(config, today, None, folder / "pilote.csv")
    return Deliverables(folder, report, audit, pilote)


def _not_journaled(config: Config, kind: str) -> AbstractContextManager[Any]:
    return nullcontext(SimpleNamespace(summary=None))


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
