"""The quality lead's deliverables: ``report`` (the bilan annuel) and ``audit`` (the evidence
pack). The jobs are imported inside each command: ``qep-sync --help`` does not load them.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import click

from qep_sync.cli import french  # noqa: F401  (French before this module makes options)
from qep_sync.cli.common import EXIT_FINDINGS, EXIT_OK, common_options, resolve_config
from qep_sync.errors import UsageError

output_option = click.option(
    "-o",
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    metavar="DOSSIER",
    help="Dossier où écrire (défaut : le dossier de la configuration).",
)


@click.command()
@click.option("--year", type=int, default=None, metavar="AAAA",
              help="L'année du bilan (défaut : l'année en cours).")  # fmt: skip
@output_option
@common_options
def report(year: int | None, output: Path | None, config_path: Path | None, today: dt.date) -> None:
    """Établit le projet de bilan annuel (.docx) et le classeur de ses chiffres (.xlsx).

    Les chiffres de l'année (courriers et délais, autoévaluation, plan d'actions,
    documents, formations, indicateurs, anomalies) sont ceux du classeur consolidé au
    31 décembre (ou aujourd'hui pour l'année en cours), avec leurs graphiques, et un projet
    d'objectifs pour l'année suivante à reprendre.
    Code de sortie : 0 fait, 1 si l'écriture a échoué, 2 si l'année ou la configuration
    est invalide.
    """
    from qep_sync.jobs.report import run_report

    config = resolve_config(config_path)
    run = run_report(config, year or today.year, today, output)
    click.echo(f"Bilan {run.year} (situation au {run.as_of:%d/%m/%Y}) :")
    click.echo(f"  document : {run.document}")
    click.echo(f"  chiffres : {run.workbook}")
    for note in run.notes:
        click.echo(f"  à savoir : {note}")
    _unread(run.failed_sources)
    sys.exit(EXIT_FINDINGS if run.failed_sources else EXIT_OK)


def _engagements(ctx: click.Context, param: click.Parameter, value: str | None) -> list[int]:
    if value is None:
        return []
    from qep_sync.jobs.audit import parse_engagements

    try:
        return parse_engagements(value)
    except UsageError as exc:
        raise click.BadParameter(str(exc).removeprefix(f"--engagements « {value} » : ")) from None


@click.command()
@click.option("--engagements", callback=_engagements, metavar="1-23",
              help="Les engagements du dossier (défaut : tous), par exemple 1-23 ou 4,16-17.")  # fmt: skip
@output_option
@common_options
def audit(
    engagements: list[int], output: Path | None, config_path: Path | None, today: dt.date
) -> None:
    """Constitue le dossier de preuves pour l'audit du label, engagement par engagement.

    Un classeur (un index, puis une feuille par engagement) et le même en document à
    imprimer : dernière autoévaluation de chaque service et ses preuves (liens gardés),
    actions liées, documents, formations et indicateurs qui s'y rapportent.
    Code de sortie : 0 fait, 1 si l'écriture a échoué, 2 si un engagement ou la
    configuration est invalide.
    """
    from qep_sync.jobs.audit import run_audit

    config = resolve_config(config_path)
    run = run_audit(config, today, engagements or None, output)
    click.echo(f"Dossier de preuves ({len(run.engagements)} engagements) :")
    click.echo(f"  classeur : {run.workbook}")
    click.echo(f"  document : {run.document}")
    if run.broken_links:
        click.echo(f"  à vérifier : {run.broken_links} preuve(s) désignent un fichier absent")
    _unread(run.failed_sources)
    sys.exit(EXIT_FINDINGS if run.failed_sources else EXIT_OK)


def _unread(sources: list[str]) -> None:
    if sources:
        click.secho(f"Attention : non lu(s), donc absent(s) des chiffres : {', '.join(sources)}",
                    fg="yellow", err=True)  # fmt: skip


COMMANDS = (report, audit)
