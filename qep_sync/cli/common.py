"""What every command shares: -c/--config, --today, --debug, --format, the exit codes, the
progress line, and the journal entry of a run typed at the terminal.

Nothing here loads the data libraries: ``qep-sync --help`` and ``status`` answer at once.
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from pathlib import Path
from typing import Any

import click

from qep_sync.clock import paris_today
from qep_sync.config import CONFIG_NAME, Config, Source, load_config
from qep_sync.env import CONFIG_VARIABLE
from qep_sync.errors import ConfigError, QepSyncError, SpecError, UsageError
from qep_sync.service.journal import Entry, JournalError, cli_run

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2


def parse_date(ctx: click.Context, param: click.Parameter, value: str | None) -> dt.date | None:
    """An option's AAAA-MM-JJ date (None when absent)."""
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"date attendue sous la forme AAAA-MM-JJ, « {value} » trouvé"
        ) from None


def _parse_today(ctx: click.Context, param: click.Parameter, value: str | None) -> dt.date:
    return parse_date(ctx, param, value) or paris_today()


def _refuse_today(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value is not None:
        raise click.UsageError(
            f"--today n'a pas de sens pour qep-sync {ctx.info_name} : chaque passage prend la "
            "date du jour",
            ctx,
        )


def common_options(
    func: Callable[..., Any] | None = None, *, today: bool = True
) -> Callable[..., Any]:
    """-c/--config, --today and --debug, on every command (docs/contract.md §6).

    ``today=False`` (``serve``): no ``--today`` in the help, and one given is refused with a
    French reason; the command gets no ``today`` argument.
    """
    if func is None:
        return lambda f: common_options(f, today=today)
    today_option = click.option(
        "--today",
        callback=_parse_today if today else _refuse_today,
        metavar="AAAA-MM-JJ",
        hidden=not today,
        expose_value=today,
        help="Date du jour pour les calculs (défaut : aujourd'hui, heure de Paris).",
    )

    @click.option(
        "-c",
        "--config",
        "config_path",
        type=click.Path(path_type=Path),
        metavar="FICHIER",
        envvar=CONFIG_VARIABLE,
        default=None,
        help=f"Fichier de configuration (défaut : ./{CONFIG_NAME} ou ${CONFIG_VARIABLE}).",
    )
    @today_option
    @click.option("--debug", is_flag=True, help="Affiche le détail technique des erreurs.")
    @wraps(func)
    def wrapper(*args: Any, debug: bool, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except QepSyncError as exc:
            if debug:
                raise
            fail(exc)

    return wrapper


def fail(exc: QepSyncError) -> None:
    """One French line on stderr, and the exit code of the error's kind (never a traceback)."""
    click.secho(f"Erreur : {exc}", fg="red", err=True)
    sys.exit(EXIT_USAGE if isinstance(exc, ConfigError | SpecError | UsageError) else EXIT_FINDINGS)


format_option: Callable[[Callable[..., Any]], Callable[..., Any]] = click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    help="Format du compte rendu (json : clés stables, voir docs/commandes.md).",
)
workbooks_argument = click.argument(
    "workbooks",
    nargs=-1,
    metavar="[CLASSEUR]...",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
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
