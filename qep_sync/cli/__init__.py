"""The `qep-sync` command line: parses options, calls the library, prints the result."""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from pathlib import Path
from typing import Any

import click

from qep_sync import __version__
from qep_sync.cli.render import render_report, render_sync
from qep_sync.clock import paris_now, paris_today
from qep_sync.config import CONFIG_NAME, Config, Source, config_for_files, load_config
from qep_sync.env import CONFIG_VARIABLE
from qep_sync.errors import ConfigError, QepSyncError, SpecError, UsageError
from qep_sync.jobs.check import run_check
from qep_sync.jobs.sync import run_sync
from qep_sync.service.journal import Entry, JournalError, cli_run, summarize_alerts, summarize_sync

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2


def _parse_today(ctx: click.Context, param: click.Parameter, value: str | None) -> dt.date:
    if value is None:
        return paris_today()
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"date attendue sous la forme AAAA-MM-JJ, « {value} » trouvé"
        ) from None


def common_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """-c/--config, --today and --debug, on every command (DESIGN §6)."""

    @click.option(
        "-c",
        "--config",
        "config_path",
        type=click.Path(path_type=Path),
        envvar=CONFIG_VARIABLE,
        default=None,
        help=f"Fichier de configuration (défaut : ./{CONFIG_NAME} ou $QEP_SYNC_CONFIG).",
    )
    @click.option(
        "--today",
        callback=_parse_today,
        metavar="AAAA-MM-JJ",
        help="Date du jour pour les calculs (défaut : aujourd'hui, heure de Paris).",
    )
    @click.option("--debug", is_flag=True, help="Affiche le détail technique des erreurs.")
    @wraps(func)
    def wrapper(*args: Any, debug: bool, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except QepSyncError as exc:
            if debug:
                raise
            click.secho(f"Erreur : {exc}", fg="red", err=True)
            code = (
                EXIT_USAGE
                if isinstance(exc, ConfigError | SpecError | UsageError)
                else EXIT_FINDINGS
            )
            sys.exit(code)

    return wrapper


format_option: Callable[[Callable[..., Any]], Callable[..., Any]] = click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    help="Format du compte rendu (json : clés stables, voir le README).",
)
workbooks_argument = click.argument(
    "workbooks", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)


def resolve_config(config_path: Path | None) -> Config:
    return load_config(config_path or Path(CONFIG_NAME))


def _journal_warning(exc: JournalError) -> None:
    click.secho(f"Attention : {exc} (ce passage n'est pas journalisé)", fg="yellow", err=True)


@contextmanager
def journaled_cli_run(config: Config, kind: str, today: dt.date, dry_run: bool) -> Iterator[Entry]:
    """The run goes into the workspace's journal, unless it is a dry run (which writes nothing)."""
    if dry_run:
        yield Entry()
        return
    from qep_sync.service.logs import Redactor, secrets_of

    redact = Redactor()
    redact.add(*secrets_of(config))
    with cli_run(config, kind, today, _journal_warning, redact) as entry:
        yield entry


def progress_printer(delay: float = 1.0) -> Callable[[int, int, Source], None]:
    """Shows « Lecture 3/30 : fichier » on a terminal once reading takes more than ``delay`` s."""
    start = time.monotonic()
    interactive = sys.stderr.isatty()

    def show(i: int, total: int, source: Source) -> None:
        if interactive and time.monotonic() - start > delay:
            click.echo(f"\rLecture {i + 1}/{total} : {source.label[:50]:<50}", err=True, nl=False)
            if i + 1 == total:
                click.echo("\r" + " " * 70 + "\r", err=True, nl=False)

    return show


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="qep-sync")
def main() -> None:
    """qep-sync : contrôle et consolidation des tableaux de suivi Qual-e-pref.

    Les services gardent leurs classeurs ; qep-sync les lit, signale les anomalies
    cellule par cellule, calcule les colonnes de suivi et consolide le tout pour le
    référent qualité.
    """


@main.command()
@workbooks_argument
@format_option
@common_options
def check(workbooks: tuple[Path, ...], fmt: str, config_path: Path | None, today: dt.date) -> None:
    """Lit et contrôle toutes les sources, sans rien écrire.

    Sans argument, lit les sources de la configuration ; avec des chemins de
    classeurs (qep-sync check a.xlsx b.xlsx), les contrôle avec les règles par défaut.
    Code de sortie : 0 sans erreur, 1 si des erreurs ou une source illisible, 2 si la
    configuration est invalide.
    """
    config = config_for_files(list(workbooks)) if workbooks else resolve_config(config_path)
    result = run_check(config, today, progress=progress_printer() if fmt == "text" else None)
    report = result.report
    if fmt == "json":
        click.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    else:
        click.echo(render_report(report), nl=False)
    sys.exit(EXIT_FINDINGS if report.errors or report.failed_sources else EXIT_OK)


@main.command()
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
    prochain passage. Avec des chemins de classeurs : colonnes calculées seulement.
    Code de sortie : 0 fait (les anomalies ne sont pas des échecs), 1 si une source n'a
    pu être lue ou écrite, 2 si la configuration est invalide.
    """
    config = config_for_files(list(workbooks)) if workbooks else resolve_config(config_path)
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
        data = result.check.report.to_dict()
        data["dry_run"] = dry_run
        data["writes"] = [w.to_dict() for w in result.writes]
        data["consolidated"] = result.consolidated.to_dict() if result.consolidated else None
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        click.echo(render_sync(result), nl=False)
    sys.exit(EXIT_FINDINGS if result.failed else EXIT_OK)


@main.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--demo", is_flag=True, help="Remplit les classeurs de données de démonstration.")
@click.option("--force", is_flag=True, help="Remplace les fichiers existants du dossier.")
@common_options
def init(
    directory: Path, demo: bool, force: bool, config_path: Path | None, today: dt.date
) -> None:
    """Crée un espace de travail : configuration et classeurs de suivi vierges (ou de démonstration)."""
    from qep_sync.workspace.create import create_workspace

    created = create_workspace(directory, demo=demo, today=today, force=force)
    click.echo(f"Espace de travail créé dans {directory} :")
    for path in created:
        click.echo(f"  {path.relative_to(directory)}")
    click.echo(f"\nÉtape suivante : qep-sync check -c {directory / CONFIG_NAME}")


DEMO_MARK = ".qep-sync-demo"


@main.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path), default="demo")
@common_options
def demo(directory: Path, config_path: Path | None, today: dt.date) -> None:
    """Pour découvrir : crée un espace de démonstration, le contrôle et le synchronise.

    Le dossier (./demo par défaut) est recréé à chaque fois ; un dossier non vide qui
    n'est pas une démonstration est refusé.
    """
    from qep_sync.workspace.create import create_workspace

    mark = directory / DEMO_MARK
    if directory.is_dir() and any(directory.iterdir()) and not mark.exists():
        raise UsageError(
            f"{directory} n'est pas vide et n'est pas un dossier de démonstration : "
            "choisissez un autre dossier (qep-sync demo DOSSIER)"
        )
    create_workspace(directory, demo=True, today=today, force=True)
    mark.write_text("Dossier de démonstration de qep-sync : recréé par « qep-sync demo ».\n")
    config = load_config(directory / CONFIG_NAME)
    result = run_sync(config, today, now=paris_now(), progress=progress_printer())
    click.echo(render_report(result.check.report), nl=False)
    written = [w for w in result.writes if w.status == "written"]
    cells = sum(w.cells for w in written)
    click.echo(
        f"\nSynchronisation : {cells} cellules calculées écrites dans {len(written)} classeurs "
        "(colonnes à en-tête vert à droite de chaque tableau, et « Contrôle »)."
    )
    if result.consolidated:
        click.echo(f"Consolidation pour le référent qualité : {result.consolidated.path}")
    click.echo(
        f"\nEspace de démonstration : {directory.resolve()}\n"
        f"  classeurs des services : {directory / 'services'}\n"
        f"  classeurs de la mission qualité : {directory / 'qualite'}\n"
        f"  configuration : {directory / CONFIG_NAME}\n"
        "Les anomalies ci-dessus ont été placées exprès dans les données de démonstration.\n"
        f"Relancer : qep-sync sync -c {directory / CONFIG_NAME} --today {today}"
    )
    from qep_sync.cli.render_alerts import demo_preview

    click.echo("\n" + demo_preview(config, today, paris_now(), result.check), nl=False)


@main.command()
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
    from qep_sync.alerts import run_alerts
    from qep_sync.cli.render_alerts import render_alerts

    config = resolve_config(config_path)
    with journaled_cli_run(config, "alerts", today, dry_run) as entry:
        result = run_alerts(config, today, dry_run=dry_run, now=paris_now())
        entry.summary = summarize_alerts(result)
    if fmt == "json":
        click.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
    else:
        click.echo(render_alerts(result), nl=False)
    sys.exit(EXIT_FINDINGS if result.failed else EXIT_OK)


# serve, status and journal live in cli_service.py (imported last: it uses the helpers above).
from qep_sync.cli.service import COMMANDS  # noqa: E402

for _command in COMMANDS:
    main.add_command(_command)
