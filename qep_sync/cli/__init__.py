"""The ``qep-sync`` command line: parses options, calls the library, prints what comes back.

One module per group of commands (``jobs``: check, sync, alerts; ``deliverables``: report,
audit; ``workspace``: init,
demo; ``service``: serve, status, journal; ``specs``: specs export; ``export``: export
pilote), their shared options in ``common`` and every text a terminal shows in the
``render*`` modules; ``french`` makes click's own texts French (every command module imports
it before making its options). No command loads a job before it runs.
"""

from __future__ import annotations

import click

from qep_sync import __version__
from qep_sync.cli import (  # french before any option is made (export imports it)
    deliverables,
    export,
    french,  # noqa: F401
    jobs,
    service,
    specs,
    workspace,
)


@click.group(
    context_settings={"help_option_names": ["-h", "--help"]},
    subcommand_metavar="COMMANDE [ARGUMENTS]...",
)
@click.version_option(__version__, prog_name="qep-sync")
def main() -> None:
    """qep-sync : contrôle et consolidation des tableaux de suivi Qual-e-pref.

    Les services gardent leurs classeurs ; qep-sync les lit, signale les anomalies
    cellule par cellule, calcule les colonnes de suivi et consolide le tout pour le
    référent qualité.
    """


for _command in (
    *jobs.COMMANDS,
    *deliverables.COMMANDS,
    *workspace.COMMANDS,
    *service.COMMANDS,
    *specs.COMMANDS,
    *export.COMMANDS,
):
    main.add_command(_command)
