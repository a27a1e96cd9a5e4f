"""A new workspace (``qep-sync init``): the commented config and the tracker workbooks,
blank or filled with the demo's data; and the tracker spec files to edit (``specs export``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

from qep_sync import files
from qep_sync.config import CONFIG_NAME
from qep_sync.core.specs import load_specs
from qep_sync.errors import UsageError
from qep_sync.resources import data_dir
from qep_sync.text import plural
from qep_sync.vocabulary import TRACKERS
from qep_sync.workspace.config_text import config_text
from qep_sync.workspace.demo_data import build_demo
from qep_sync.workspace.plan import blank_plan, in_format
from qep_sync.workspace.workbooks import write_text, write_workbook

# --- The command -----------------------------------------------------------------------------


def create_workspace(
    directory: Path, *, demo: bool, today: dt.date, force: bool, workbook_format: str | None = None
) -> list[Path]:
    """Write the config and the tracker workbooks into ``directory``; return the files written.

    ``workbook_format`` (« xlsx » or « ods ») writes every tracker workbook in that format;
    without it, each is the plan's own (the demo has one bureau on LibreOffice).
    Refuses (``UsageError``, nothing written) when one of them already exists, unless ``force``.
    """
    if directory.exists() and not directory.is_dir():
        raise UsageError(f"{directory} existe et n'est pas un dossier")
    specs = load_specs()
    plan = build_demo(today, specs) if demo else blank_plan(specs)
    if workbook_format is not None:
        plan = in_format(plan, f".{workbook_format}")
    config = directory / CONFIG_NAME
    books = [(directory / book.path, book) for book in plan.books]
    if not force:
        existing = [p for p in [config, *(p for p, _ in books)] if p.exists()]
        if existing:
            names = ", ".join(str(p.relative_to(directory)) for p in existing[:3])
            more = f" (et {plural(len(existing) - 3, 'autre')})" if len(existing) > 3 else ""
            raise UsageError(
                f"{directory} contient déjà {names}{more} : rien n'a été écrit. "
                "Choisissez un autre dossier, ou ajoutez --force pour remplacer ces fichiers "
                "(leur contenu serait perdu)."
            )
    for path, book in books:
        write_workbook(path, book, specs)
    write_text(config, config_text(plan, today))  # last: a config never names a missing file
    return [config, *(p for p, _ in books)]


# --- The spec files, for a quality lead to edit ---------------------------------------------


def export_specs(directory: Path, *, force: bool) -> list[Path]:
    """Copy the shipped tracker spec files (``schemas/*.json``) into ``directory``.

    The copy is what ``workspace.schemas_dir`` then names. Refuses (``UsageError``, nothing
    written) when one of the files already exists there, unless ``force``.
    """
    if directory.exists() and not directory.is_dir():
        raise UsageError(f"{directory} existe et n'est pas un dossier")
    shipped = data_dir("schemas")
    sources = [shipped / f"{name}.json" for name in TRACKERS]
    targets = [directory / p.name for p in sources]
    if not force:
        existing = [p for p in targets if p.exists()]
        if existing:
            names = ", ".join(p.name for p in existing[:3])
            more = f" (et {plural(len(existing) - 3, 'autre')})" if len(existing) > 3 else ""
            raise UsageError(
                f"{directory} contient déjà {names}{more} : rien n'a été écrit. Choisissez un "
                "autre dossier, ou ajoutez --force pour remplacer ces fichiers (vos "
                "modifications seraient perdues)."
            )
    try:
        directory.mkdir(parents=True, exist_ok=True)
        for source, target in zip(sources, targets, strict=True):
            files.replace_atomically(target, _writer(source.read_bytes()))
    except OSError as exc:
        raise UsageError(f"écriture impossible dans {directory} : {exc}") from None
    return targets


def _writer(data: bytes) -> Callable[[Path], int]:
    return lambda tmp: tmp.write_bytes(data)
