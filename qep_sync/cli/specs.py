"""The ``specs`` commands: ``specs export DIR`` copies the tracker spec files to edit them."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from qep_sync.cli.common import common_options
from qep_sync.text import plural


@click.group(subcommand_metavar="COMMANDE [ARGUMENTS]...")
def specs() -> None:
    """Les descriptions des suivis (colonnes, valeurs autorisées, intitulés acceptés)."""


@specs.command("export")
@click.argument("directory", metavar="DOSSIER", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--force", is_flag=True, help="Remplace les fichiers de description déjà dans le dossier."
)
@common_options
def export(directory: Path, force: bool, config_path: Path | None, today: dt.date) -> None:
    """Copie les fichiers de description des suivis dans DOSSIER, pour les modifier.

    Les sept fichiers JSON (un par suivi) fournis avec qep-sync. Ajoutez-y une valeur
    autorisée ou un intitulé de colonne, puis indiquez le dossier dans la configuration
    (schemas_dir, section [workspace]) et vérifiez avec qep-sync check. Des fichiers déjà
    présents ne sont remplacés qu'avec --force.
    """
    from qep_sync.workspace.create import export_specs

    written = export_specs(directory, force=force)
    copied = plural(len(written), "fichier de description copié", "fichiers de description copiés")
    click.echo(f"{copied} dans {directory} :")
    for path in written:
        click.echo(f"  {path.name}")
    click.echo(
        "\nÉtape suivante : dans qep-sync.toml, section [workspace], "
        f'schemas_dir = "{directory}" ; puis qep-sync check'
    )


COMMANDS = (specs,)
