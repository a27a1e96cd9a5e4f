"""Links from the consolidated workbook back to the cells its lines come from (§4).

A file's link is relative to the consolidated workbook's folder (it opens on the server
and on every agent's drive that maps the same share), or, with ``workspace.display_root``,
the ``file:`` address of the path as agents see it. The sheet and cell follow ``#``, as
Excel and LibreOffice read them. A Google Sheet's link is its address with the tab's ``gid``
and the cell's range.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

from qep_sync.config import Source
from qep_sync.jobs.view import Link


class Linker:
    """Builds the Link of a source's sheet and cell, and the path shown for a file."""

    def __init__(
        self,
        folder: Path | None = None,
        shown: Callable[[Path], str] | None = None,
        url: Callable[[Path], str] | None = None,
    ) -> None:
        self.folder = folder  # the consolidated workbook's folder; None: absolute links
        self._shown = shown or str
        self._url = url  # the file: address of a path as agents see it (display_root)
        # Per path, its text and target: a view links thousands of lines to a few files.
        self._texts: dict[Path, str] = {}
        self._targets: dict[Path, str] = {}

    def shown(self, source: Source) -> str:
        """The source as a person sees it: its path on their drive, or the sheet's address."""
        path = source.path
        if path is not None:
            text = self._texts.get(path)
            if text is None:
                text = self._texts[path] = self._shown(path)
            return text
        return source.url or source.label

    def to(self, source: Source, sheet: str | None = None, part: str | None = None,
           cell: str | None = None) -> Link:  # fmt: skip
        """A link to ``cell`` of ``sheet`` (``part``: a Google tab's id) in ``source``."""
        text = self.shown(source)
        if source.path is None:
            target = source.url or ""
            if part is not None:
                target += f"#gid={part}" + (f"&range={cell}" if cell else "")
            return Link(text, target)
        target = self._file_target(source.path)
        if sheet:
            quoted = sheet.replace("'", "''")
            target += f"#'{quoted}'!{cell or 'A1'}"
        return Link(text, target)

    def file(self, path: Path) -> str:
        """The link target of a file (a proof, a workbook), as for a source."""
        return self._file_target(path)

    def _file_target(self, path: Path) -> str:
        target = self._targets.get(path)
        if target is None:
            target = self._targets[path] = self._target(path)
        return target

    def _target(self, path: Path) -> str:
        if self._url is not None:
            return self._url(path)
        if self.folder is not None:
            try:
                relative = os.path.relpath(path, self.folder)
            except ValueError:  # another drive (Windows): no relative path
                return path.resolve().as_uri()
            return quote(Path(relative).as_posix(), safe="/'._-()")
        return path.resolve().as_uri()
