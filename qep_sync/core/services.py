"""The services of a run: each source's code and full name, and the service a cell names.

A row of a central workbook names its service in a ``Service`` (or ``Service pilote``)
cell, by code or by full name, in any case and with or without accents; ``resolve`` turns
that text into the service's code. Consolidation and alerts use this one index.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from qep_sync.config import Source
from qep_sync.text import clean, fold


class ServiceIndex:
    """Service codes by code or full name (the sources' services, in config order)."""

    def __init__(self, sources: Iterable[Source]) -> None:
        self.names: dict[str, str] = {}  # code -> full name
        self._index: dict[str, str] = {}  # folded code or name -> code
        self._seen: dict[str, str] = {}  # a cell's text -> code (a column holds few spellings)
        for source in sources:
            self.names.setdefault(source.service, source.name)
            self._index.setdefault(fold(source.service), source.service)
            self._index.setdefault(fold(source.name), source.service)

    def resolve(self, text: Any, default: str) -> str:
        """The code of the service a cell names; ``default`` for an empty cell.

        A name that matches no source's service is its own code (its text, spaces cleaned).
        """
        if text is None:
            return default
        text = str(text)
        code = self._seen.get(text)
        if code is None:
            if not text.strip():
                return default
            key = fold(text)
            code = self._index.get(key)
            if code is None:
                code = self._index[key] = clean(text)
            self._seen[text] = code
        return code

    def name(self, code: str) -> str:
        """The service's full name, or its code when it has no source of its own."""
        return self.names.get(code) or code
