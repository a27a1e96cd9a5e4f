"""The ``qep-sync`` command line: parses options, calls the library, prints what comes back.

One module per group of commands (``jobs``: check, sync, alerts; ``workspace``: init,
demo; ``service``: serve, status, journal), their shared options in ``common`` and every
text a terminal shows in the ``render*`` modules. No command loads a job before it runs.
"""

from __future__ import annotations

import click

from qep_sync import __version__
from qep_sync.cli import jobs, service, workspace


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="qep-sync")
def main() -> None:
    """qep-sync : contrôle et consolidation des tableaux de suivi Qual-e-pref.

    Les services gardent leurs classeurs ; qep-sync les lit, signale les anomalies
    cellule par cellule, calcule les colonnes de suivi et consolide le tout pour le
    référent qualité.
    """


for _command in (*jobs.COMMANDS, *workspace.COMMANDS, *service.COMMANDS):
    main.add_command(_command)
