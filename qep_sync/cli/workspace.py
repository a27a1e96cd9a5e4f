"""The workspace commands: ``init`` (a new workspace) and ``demo`` (one to discover)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from qep_sync.cli.common import common_options, journaled_cli_run, progress_printer
from qep_sync.cli.render import render_demo
from qep_sync.clock import paris_now
from qep_sync.config import CONFIG_NAME


@click.command()
@click.argument("directory", metavar="DOSSIER", type=click.Path(file_okay=False, path_type=Path))
@click.option("--demo", is_flag=True, help="Remplit les classeurs de données de démonstration.")
@click.option("--force", is_flag=True, help="Remplace les fichiers existants du dossier.")
@click.option(
    "--format",
    "workbook_format",
    type=click.Choice(["xlsx", "ods"]),
    help="Format des classeurs de suivi : xlsx (Excel) ou ods (LibreOffice).",
)
@common_options
def init(
    directory: Path,
    demo: bool,
    force: bool,
    workbook_format: str | None,
    config_path: Path | None,
    today: dt.date,
) -> None:
    """Crée un espace de travail : configuration et classeurs de suivi vierges (ou de démonstration)."""
    from qep_sync.workspace.create import create_workspace

    created = create_workspace(
        directory, demo=demo, today=today, force=force, workbook_format=workbook_format
    )
    click.echo(f"Espace de travail créé dans {directory} :")
    for path in created:
        click.echo(f"  {path.relative_to(directory)}")
    click.echo(f"\nÉtape suivante : qep-sync check -c {directory / CONFIG_NAME}")


@click.command()
@click.argument(
    "directory",
    metavar="[DOSSIER]",
    type=click.Path(file_okay=False, path_type=Path),
    default="demo",
)
@common_options
def demo(directory: Path, config_path: Path | None, today: dt.date) -> None:
    """Pour découvrir : crée un espace de démonstration, le contrôle et le synchronise.

    Le dossier (./demo par défaut) est recréé à chaque fois ; un dossier non vide qui
    n'est pas une démonstration est refusé.
    """
    from qep_sync.workspace.demo import run_demo

    result = run_demo(
        directory, today, paris_now(), progress=progress_printer(),
        journal=lambda config, kind: journaled_cli_run(config, kind, today, dry_run=False),
    )  # fmt: skip
    click.echo(render_demo(result), nl=False)


COMMANDS = (init, demo)
