"""The services of a run (docs/contract.md §4): who a row belongs to, and which texts are services.

A service is one of the config's sources (its code and full name) or a value of the
Correspondants tracker's ``Service`` column. A central workbook (``central = true`` in the
config: the quality mission's plan, documents, trainings...) is no service of its own: each
of its rows names its service in a ``Service`` (or ``Service pilote``) cell, by code or by
full name, in any case and with or without accents. A text that names no known service (a
person's name in a ``Pilote`` column, a typo) counts under « Non attribué », never as a new
service; « Tous services » (an item of the whole prefecture) is kept apart. Consolidation
and alerts use this one index.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from qep_sync.config import Source
from qep_sync.text import clean, fold

UNASSIGNED = "Non attribué"  # rows whose service is unknown, or empty in a central workbook
ALL_SERVICES = "Tous services"  # rows about the whole prefecture
_ALL_SPELLINGS = {fold(t) for t in (ALL_SERVICES, "Tous les services", "Toute la préfecture")}


class ServiceIndex:
    """Service codes by code or full name: the sources' services in config order, then the
    services only the Correspondants tracker names."""

    def __init__(self, sources: Iterable[Source], named: Iterable[Any] = ()) -> None:
        self.names: dict[str, str] = {}  # code -> full name, in order
        self._index: dict[str, str] = {}  # folded code or name -> code
        self._seen: dict[str, str | None] = {}  # a cell's text -> code (a column has few spellings)
        for source in sources:
            if not source.central:
                self._add(source.service, source.name)
        # Filled below, once every name is known: a text's code is cached on first use.
        for text in named:
            key = fold(text) if text is not None else ""
            if key and key not in self._index and key not in _ALL_SPELLINGS:
                self._add(clean(str(text)), clean(str(text)))

    def _add(self, code: str, name: str) -> None:
        self.names.setdefault(code, name)
        self._index.setdefault(fold(code), code)
        self._index.setdefault(fold(name), code)

    @staticmethod
    def default(source: Source, tracker: str = "") -> str:
        """Where a row of ``source`` with an empty Service cell counts: the source's service;
        in a central workbook « Non attribué », but « Tous services » for a self-assessment
        (the prefecture's own, engagement by engagement)."""
        if not source.central:
            return source.service
        return ALL_SERVICES if tracker == "autoevaluation" else UNASSIGNED

    def known(self, text: Any) -> str | None:
        """The code of the service a non-empty text names; ALL_SERVICES; or None if unknown."""
        text = str(text)
        if text in self._seen:
            return self._seen[text]
        key = fold(text)
        code = ALL_SERVICES if key in _ALL_SPELLINGS else self._index.get(key)
        self._seen[text] = code
        return code

    def resolve(self, text: Any, default: str) -> str:
        """The code of the service a cell names; ``default`` for an empty cell, UNASSIGNED for
        a text that names no known service (its cell gets a warning at check time)."""
        if text is None or not str(text).strip():
            return default
        return self.known(text) or UNASSIGNED

    def name(self, code: str) -> str:
        """The service's full name, or its code when it has none."""
        return self.names.get(code) or code

    @property
    def codes(self) -> list[str]:
        """The known services, sources first (config order), then those of Correspondants."""
        return list(self.names)
