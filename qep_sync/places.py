"""Paths as people see them (docs/contract.md §4, display paths) and the links that open them.

The server reads the workspace at its own path (``/srv/qualite``); agents reach the same
folder as a share or a drive letter (``workspace.display_root``: ``\\\\srv-pref\\qualite``,
``S:\\Qualité``). ``shown`` writes a path the agents' way; ``file_url`` is the ``file:`` link
that Outlook and Thunderbird open (``file://srv-pref/qualite/…``, ``file:///S:/Qualit%C3%A9/…``).
Emails, the consolidated workbook and reports show paths through these two functions.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import quote

from qep_sync.config import Config

_DRIVE = re.compile(r"^([A-Za-z]):(?:[\\/](.*))?$", re.DOTALL)
_SEPARATORS = re.compile(r"[\\/]+")


def _absolute(path: Path) -> list[Path]:
    """A path as written (made absolute) and with its links resolved: either may be the one
    the workspace folder is a prefix of."""
    found = [Path(os.path.abspath(path))]
    try:
        resolved = path.resolve()
    except (OSError, RuntimeError):  # an unreachable share, a loop of links
        return found
    return found if resolved in found else [*found, resolved]


def relative_to_workspace(path: Path | str, config: Config) -> tuple[str, ...] | None:
    """The parts of ``path`` below the workspace folder (the config file's folder); None when
    it lies outside, or when the config has no file."""
    if config.path is None:
        return None
    folders = [p.parent for p in _absolute(config.path)]  # sources hang from the resolved one
    for candidate in _absolute(Path(path)):
        for folder in folders:
            if candidate.is_relative_to(folder):
                return candidate.relative_to(folder).parts
    return None


def shown(path: Path | str, config: Config) -> str:
    """``path`` as agents see it: the workspace folder replaced by ``workspace.display_root``,
    with that root's own separator. Outside the workspace, or without a display root: the
    path as it is."""
    root = config.display_root
    if root is None:
        return str(path)
    parts = relative_to_workspace(path, config)
    if parts is None:
        return str(path)
    if not parts:
        return root
    separator = "\\" if "\\" in root or "/" not in root else "/"
    return root.rstrip("\\/") + separator + separator.join(parts)


def file_url(path: Path | str, config: Config) -> str:
    """The ``file:`` link of ``path`` as agents see it (``shown``), percent-encoded (UTF-8).

    A share ``\\\\srv\\qualite\\x.xlsx`` is ``file://srv/qualite/x.xlsx``, a drive path
    ``S:\\x.xlsx`` is ``file:///S:/x.xlsx``, a POSIX path ``/srv/x.xlsx`` is ``file:///srv/x.xlsx``.
    """
    return url_of(shown(path, config))


def url_of(text: str) -> str:
    """The ``file:`` URL of a full path written the Windows way (share, drive) or POSIX way."""
    if text.startswith(("\\\\", "//")):  # a share: its server is the URL's host
        host, *tail = [p for p in _SEPARATORS.split(text) if p] or [""]
        return f"file://{quote(host, safe='')}/" + _encoded(tail)
    drive = _DRIVE.match(text)
    if drive:
        tail = [p for p in _SEPARATORS.split(drive.group(2) or "") if p]
        return f"file:///{drive.group(1)}:/" + _encoded(tail)
    return "file://" + quote(Path(os.path.abspath(text)).as_posix(), safe="/")


def _encoded(parts: list[str]) -> str:
    return "/".join(quote(p, safe="") for p in parts)
