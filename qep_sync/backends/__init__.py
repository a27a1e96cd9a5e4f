"""Backends: where trackers are read from and where owned cells are written back.

``open_book(source, config)`` reads one source with the backend its config names: an
.xlsx/.xlsm file (``xlsx.py``), an .ods file (``ods.py``, by its suffix) or a Google Sheets
spreadsheet (``gsheets.py``). All give a `core.contract.Book`; the core never knows which.
"""

from __future__ import annotations

from qep_sync.config import Config, Source
from qep_sync.core.contract import Book


def open_book(source: Source, config: Config) -> Book:
    """Read a source; SourceError with a French reason when it cannot be read."""
    if source.gsheet is not None:
        from qep_sync.backends.gsheets import read_spreadsheet  # gspread only when needed

        return read_spreadsheet(source.gsheet, source.label, config.google)
    assert source.path is not None
    if source.path.suffix.lower() == ".ods":
        from qep_sync.backends.ods import read_ods

        return read_ods(source.path, source.label)
    from qep_sync.backends.xlsx import read_workbook

    return read_workbook(source.path, source.label)
