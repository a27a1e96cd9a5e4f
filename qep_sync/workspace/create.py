"""A new workspace (``qep-sync init``): the commented config and the tracker workbooks,
blank or filled with the demo's data.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from qep_sync.config import CONFIG_NAME
from qep_sync.core.specs import load_specs
from qep_sync.errors import UsageError
from qep_sync.workspace.config_text import config_text
from qep_sync.workspace.demo_data import build_demo
from qep_sync.workspace.plan import blank_plan
from qep_sync.workspace.workbooks import write_text, write_workbook

# --- The command -----------------------------------------------------------------------------


def create_workspace(directory: Path, *, demo: bool, today: dt.date, force: bool) -> list[Path]:
    """Write the config and the tracker workbooks into ``directory``; return the files written.

    Refuses (``UsageError``, nothing written) when one of them already exists, unless ``force``.
    """
    if directory.exists() and not directory.is_dir():
        raise UsageError(f"{directory} existe et n'est pas un dossier")
    specs = load_specs()
    plan = build_demo(today, specs) if demo else blank_plan(specs)
    config = directory / CONFIG_NAME
    books = [(directory / book.path, book) for book in plan.books]
    if not force:
        existing = [p for p in [config, *(p for p, _ in books)] if p.exists()]
        if existing:
            names = ", ".join(str(p.relative_to(directory)) for p in existing[:3])
            more = f" (et {len(existing) - 3} autres)" if len(existing) > 3 else ""
            raise UsageError(
                f"{directory} contient déjà {names}{more} : rien n'a été écrit. "
                "Choisissez un autre dossier, ou ajoutez --force pour remplacer ces fichiers "
                "(leur contenu serait perdu)."
            )
    for path, book in books:
        write_workbook(path, book, specs)
    write_text(config, config_text(plan, today))  # last: a config never names a missing file
    return [config, *(p for p, _ in books)]
