"""Folders shipped with qep-sync (tracker specs, mail templates), installed or in a checkout."""

from __future__ import annotations

from pathlib import Path


def data_dir(name: str) -> Path:
    """``schemas`` or ``templates``: inside the installed package, else beside it in a checkout."""
    here = Path(__file__).resolve().parent
    installed = here / "_data" / name
    return installed if installed.is_dir() else here.parent / name
