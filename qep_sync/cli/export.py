"""The ``export`` commands: ``export pilote`` writes the month's indicators for PILOTE.

The job is imported inside the command: ``qep-sync --help`` does not load it.
"""

from __future__ import annotations

import datetime as dt
import re
import sys
from pathlib import Path

import click

from qep_sync.cli import french  # noqa: F401  (French before this module makes options)
from qep_sync.cli.common import (
    EXIT_FINDINGS,
    EXIT_OK,
    common_options,
    progress_printer,
    resolve_config,
)
from qep_sync.cli.render_export import render_pilote

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def _parse_month(ctx: click.Context, param: click.Parameter, value: str | None) -> dt.date | None:
    """An option's AAAA-MM month, as its first day (None when absent)."""
    if value is None:
        return None
    m = _MONTH.match(value.strip())
    if m is None or not 1 <= int(m[2]) <= 12 or int(m[1]) < 1900:
        raise click.BadParameter(f"mois attendu sous la forme AAAA-MM, « {value} » trouvé")
    return dt.date(int(m[1]), int(m[2]), 1)


@click.group(subcommand_metavar="COMMANDE [ARGUMENTS]...")
def export() -> None:
    """Les exports vers d'autres outils de l'État (PILOTE)."""


@export.command("pilote")
@click.option("--month", callback=_parse_month, metavar="AAAA-MM",
              help="Le mois exporté (défaut : le dernier mois terminé).")  # fmt: skip
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              metavar="FICHIER.csv",
              help="Le fichier écrit (défaut : pilote-ZONE-AAAA-MM.csv dans le dossier de la "
                   "configuration).")  # fmt: skip
@common_options
def pilote(
    month: dt.date | None, output: Path | None, config_path: Path | None, today: dt.date
) -> None:
    """Écrit les indicateurs du mois au format d'import de PILOTE (CSV).

    Une ligne par indicateur de la section [pilote] de la configuration :
    identifiant_indic, zone_id, date_valeur (dernier jour du mois), type_valeur, valeur
    (les pourcentages de 0 à 100). Un indicateur sans correspondance, sans valeur ou
    déclaré par plusieurs services sans ligne « Tous services » est signalé, jamais deviné.

    Code de sortie : 0 fait, 1 si une source n'a pu être lue (le fichier est écrit sans
    elle) ou si le fichier n'a pu être écrit, 2 si le mois ou la configuration est invalide
    (sans section [pilote] notamment).
    """
    from qep_sync.jobs.pilote import run_pilote_export

    config = resolve_config(config_path)
    result = run_pilote_export(config, today, month, output, progress=progress_printer())
    click.echo(render_pilote(result), nl=False)
    sys.exit(EXIT_FINDINGS if result.failed else EXIT_OK)


COMMANDS = (export,)
