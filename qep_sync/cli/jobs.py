"""The data commands: ``check``, ``sync`` and ``alerts``, each one library call plus printing.

The jobs are imported inside each command: ``qep-sync --help`` does not load them.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import click

from qep_sync.cli.common import (
    EXIT_FINDINGS,
    EXIT_OK,
    common_options,
    format_option,
    journaled_cli_run,
    progress_printer,
    resolve_config,
    workbooks_argument,
)
from qep_sync.cli.render import render_report, render_sync
from qep_sync.cli.render_alerts import render_alerts
from qep_sync.clock import paris_now
from qep_sync.config import Config, config_for_files, load_config


@click.command()
@workbooks_argument
@format_option
@common_options
def check(workbooks: tuple[Path, ...], fmt: str, config_path: Path | None, today: dt.date) -> None:
    """Lit et contrôle toutes les sources, sans rien écrire.

    Sans argument, lit les sources de la configuration ; avec des chemins de
    classeurs (qep-sync check a.xlsx b.xlsx), ne lit qu'eux, avec les règles par défaut,
    ou avec -c celles de la configuration et, pour un classeur qui en est une source, son
    service et ses onglets (sheets). Code de sortie : 0 sans erreur, 1 si des erreurs ou une source illisible, 2 si la
    configuration est invalide.
    """
    from qep_sync.jobs.check import run_check

    config = _config(workbooks, config_path)
    progress = progress_printer() if fmt == "text" else None
    report = run_check(config, today, progress=progress, tables=False).report
    if fmt == "json":
        click.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    else:
        click.echo(render_report(report), nl=False)
    sys.exit(EXIT_FINDINGS if report.errors or report.failed_sources else EXIT_OK)


@click.command()
@workbooks_argument
@click.option("--dry-run", is_flag=True, help="Montre ce qui changerait, sans rien écrire.")
@format_option
@common_options
def sync(
    workbooks: tuple[Path, ...], dry_run: bool, fmt: str, config_path: Path | None, today: dt.date
) -> None:
    """Contrôle, calcule les colonnes de suivi, les écrit dans les classeurs, consolide.

    Seules les colonnes calculées et « Contrôle » sont écrites ; un classeur sans
    changement n'est pas réécrit ; un classeur ouvert dans Excel est laissé pour le
    prochain passage. Avec des chemins de classeurs : colonnes calculées seulement (avec -c,
    selon la configuration, comme check).
    Code de sortie : 0 fait (les anomalies ne sont pas des échecs), 1 si une source n'a
    pu être lue ou écrite, 2 si la configuration est invalide.
    """
    from qep_sync.jobs.sync import run_sync, summarize_sync

    config = _config(workbooks, config_path)
    with journaled_cli_run(config, "sync", today, dry_run) as entry:
        result = run_sync(
            config,
            today,
            dry_run=dry_run,
            now=paris_now(),
            progress=progress_printer() if fmt == "text" else None,
        )
        entry.summary = summarize_sync(result)
    if fmt == "json":
        click.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
    else:
        click.echo(render_sync(result), nl=False)
    sys.exit(EXIT_FINDINGS if result.failed else EXIT_OK)


@click.command()
@click.option(
    "--dry-run", is_flag=True, help="Montre qui recevrait quoi, sans rien envoyer ni enregistrer."
)
@format_option
@common_options
def alerts(dry_run: bool, fmt: str, config_path: Path | None, today: dt.date) -> None:
    """Construit et envoie les relances : un courriel par destinataire.

    Échéances proches ou dépassées et anomalies, au responsable de la ligne ou au
    correspondant qualité du service ; chaque relance n'est envoyée qu'une fois. Sans
    section [smtp], les courriels sont déposés en .eml dans alerts.outbox.
    Code de sortie : 0 fait, 1 si un envoi a échoué (retenté au prochain passage), 2 si la
    configuration est invalide.
    """
    from qep_sync.alerts.job import run_alerts, summarize_alerts

    config = resolve_config(config_path)
    with journaled_cli_run(config, "alerts", today, dry_run) as entry:
        result = run_alerts(config, today, dry_run=dry_run, now=paris_now())
        entry.summary = summarize_alerts(result)
    if fmt == "json":
        click.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
    else:
        click.echo(render_alerts(result), nl=False)
    sys.exit(EXIT_FINDINGS if result.failed else EXIT_OK)


def _config(workbooks: tuple[Path, ...], config_path: Path | None) -> Config:
    """The config of a run: the workspace's, or a throwaway one for the workbooks named on
    the command line (within the config given by -c or $QEP_SYNC_CONFIG, when there is one)."""
    if not workbooks:
        return resolve_config(config_path)
    return config_for_files(list(workbooks), load_config(config_path) if config_path else None)


COMMANDS = (check, sync, alerts)
