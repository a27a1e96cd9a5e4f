"""The service commands: ``serve``, ``status`` and ``journal``.

Like the rest of the command line, each is one library call (``serve.ServeLoop``,
``status.workspace_status``, ``journal.Journal``) plus printing.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import threading
from dataclasses import replace
from pathlib import Path

import click

from qep_sync.cli.common import (
    EXIT_FINDINGS,
    EXIT_OK,
    common_options,
    format_option,
    parse_date,
    resolve_config,
)
from qep_sync.cli.render_status import render_status
from qep_sync.clock import PARIS, paris_now
from qep_sync.errors import UsageError
from qep_sync.service.journal import Journal, export_csv, export_json
from qep_sync.service.logs import secrets_of, setup_logging
from qep_sync.service.status import workspace_status
from qep_sync.text import plural


@click.command()
@click.option(
    "--no-initial-run",
    is_flag=True,
    help="Ne lance ni synchronisation ni relances au démarrage : attend l'heure prévue.",
)
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default=None,
    help="Format des journaux : text (lisible) ou json (un objet par ligne, pour un "
    "collecteur). Défaut : [logging] format, sinon text.",
)
@click.option(
    "--log-file",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FICHIER",
    default=None,
    help="Journal tournant dans ce fichier, en plus de la sortie d'erreur (défaut : [logging] file).",
)
@common_options(today=False)  # each run takes its own date
def serve(
    no_initial_run: bool,
    log_format: str | None,
    log_file: Path | None,
    config_path: Path | None,
) -> None:
    """Tourne en service : synchronise et relance selon [schedule], jusqu'à l'arrêt.

    Une synchronisation toutes les sync_every_minutes pendant les heures ouvrées des jours
    ouvrés, les relances chaque jour à alerts_at (heure de Paris), et les deux au
    démarrage. La configuration est relue quand elle change (invalide : l'ancienne est
    gardée). SIGTERM ou Ctrl-C l'arrêtent en quelques secondes, sans fichier à moitié écrit.
    Un seul serve par espace de travail. Code de sortie : 0 arrêt demandé, 2 configuration
    invalide ou serve déjà en marche.
    """
    from qep_sync.service.serve import ServeLoop, install_signal_handlers

    config = resolve_config(config_path)
    settings = replace(
        config.logging,
        format=log_format or config.logging.format,
        file=log_file or config.logging.file,
    )
    try:
        logging_setup = setup_logging(settings, stream=sys.stderr, secrets=secrets_of(config))
    except OSError as exc:
        raise UsageError(f"fichier journal impossible à ouvrir ({settings.file}) : {exc}") from None
    stop = threading.Event()
    restore = install_signal_handlers(stop)
    try:
        service = ServeLoop(
            config,
            stop=stop,
            run_at_start=False if no_initial_run else None,
            on_reload=lambda new: logging_setup.redactor.add(*secrets_of(new)),
        )
        service.run()
    finally:
        restore()
        logging_setup.close()
    sys.exit(EXIT_OK)


@click.command()
@click.option(
    "--runs",
    "count",
    type=click.IntRange(1, 1000),
    metavar="N",
    default=10,
    help="Nombre de derniers passages montrés (défaut : 10).",
)
@format_option
@common_options
def status(count: int, fmt: str, config_path: Path | None, today: dt.date) -> None:
    """Montre l'état du service : santé, prochains passages, derniers passages.

    Code de sortie (pour la supervision) : 0 si la dernière synchronisation réussie date de
    moins de 2 fois l'intervalle (en heures ouvrées), 1 sinon, 2 si la configuration est
    invalide.
    """
    config = resolve_config(config_path)
    st = workspace_status(config, paris_now(), runs=count)
    if fmt == "json":
        click.echo(json.dumps(st.to_dict(), ensure_ascii=False, indent=2))
    else:
        click.echo(render_status(st, str(config.path)), nl=False)
    sys.exit(EXIT_OK if st.health.healthy else EXIT_FINDINGS)


@click.command("journal")
@click.option("--since", callback=parse_date, metavar="AAAA-MM-JJ",
              help="Passages commencés ce jour-là ou après (heure de Paris) ; défaut : tous.")  # fmt: skip
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv",
              show_default=True, help="csv (une ligne par passage) ou json.")  # fmt: skip
@click.option("--kind", type=click.Choice(["sync", "alerts", "notice"]), default=None,
              help="Seulement ce type de passage.")  # fmt: skip
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              metavar="FICHIER",
              help="Écrit l'export dans ce fichier plutôt qu'à l'écran.")  # fmt: skip
@common_options
def journal_command(
    since: dt.date | None,
    fmt: str,
    kind: str | None,
    output: Path | None,
    config_path: Path | None,
    today: dt.date,
) -> None:
    """Exporte le journal des passages (synchronisations, relances), pour un audit.

    Une ligne par passage : début, fin, origine (serve ou cli), état, sources lues,
    différées et en échec, anomalies, cellules écrites, courriels envoyés, message, détail.
    Heures de Paris.
    """
    config = resolve_config(config_path)
    start = dt.datetime.combine(since, dt.time(), tzinfo=PARIS) if since else None
    with Journal.of(config, readonly=True) as journal:
        runs = journal.runs(since=start, kind=kind, newest_first=False)
    text = export_csv(runs) if fmt == "csv" else export_json(runs, since)
    if output is None:
        click.echo(text, nl=False)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"écriture impossible de {output} : {exc}") from None
    click.echo(
        f"{plural(len(runs), 'passage exporté', 'passages exportés')} dans {output}", err=True
    )


COMMANDS = (serve, status, journal_command)
