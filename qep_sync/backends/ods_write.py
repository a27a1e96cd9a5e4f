"""Write-back into an .ods file: the owned cells patched into ``content.xml`` (``odsxml``),
every other entry of the zip copied byte for byte (``zipparts``), the file replaced
atomically (``files``). Never a load-and-save through a library (odfpy, pandas' odf
writer): those rewrite every part, and what they do not know is lost.

What changes: ``content.xml`` only (the owned cells, qep-sync's few automatic styles,
the widths of new columns). ``mimetype`` stays the first entry, stored uncompressed, as
OpenDocument requires; ``META-INF/manifest.xml`` (no part is added), ``styles.xml``,
``settings.xml``, ``meta.xml``, charts, images and the thumbnail are copied raw. The
thumbnail (``Thumbnails/thumbnail.png``, the preview a file manager shows) therefore
still shows the sheet as it was before the sync until LibreOffice saves the file again:
harmless, and documented. Formulas that use the owned columns keep their cached result in
the file until LibreOffice recalculates them, which it does when it opens the file (the
fidelity suite checks it).

Before the file is replaced, the patched ``content.xml`` is read back with the very reader
of ``check`` (``odsscan``) and compared with the part as it was, cell by cell: every cell
outside the patch reads as before, every patched cell reads as written. The writer splits rows and
cells that LibreOffice stored as repeated runs; this proves the split put each value where
the reader (and so every finding's cell reference) placed it, and nothing anywhere else.
A sheet whose key columns no longer hold the values read (``SheetPatch.anchors``) is not
written (a warning); the others are. Refusals leave the file untouched: SkippedWrite
(open in LibreOffice: ``.~lock.NAME#``; changed since read), WriteBackError (French,
naming the part) when it is damaged or cannot be written.
"""

from __future__ import annotations

import copy
import datetime as dt
import logging
import zipfile
import zlib
from pathlib import Path
from typing import Any

from qep_sync import files
from qep_sync.backends import odsxml
from qep_sync.backends.odf import CONTENT, MIMETYPE, open_ods
from qep_sync.backends.odsscan import Table, read_tree
from qep_sync.backends.zipparts import (
    COMPRESS_LEVEL,
    WRITE_FAILURES,
    Damaged,
    check_written,
    copy_raw,
    write_failure,
)
from qep_sync.cells import a1
from qep_sync.core.contract import SheetPatch, SkippedWrite
from qep_sync.errors import WriteBackError

_log = logging.getLogger(__name__)


class _Unfaithful(Exception):
    """The patched content does not read back as planned: it is never written."""

    def __init__(self, title: str, row: int, col: int) -> None:
        self.where = f"onglet « {title} », cellule {a1(row, col)}"
        super().__init__(self.where)


def write_back(path: Path, stamp: files.Stamp, patches: list[SheetPatch]) -> list[str]:
    """Write owned cells into an .ods file atomically; returns warnings for sheets skipped.

    ``stamp`` is the file as it was read: raises SkippedWrite when the file is open in
    LibreOffice or changed since, or when no sheet could be written; WriteBackError when
    it cannot be written (damaged, disk error).
    """
    patches = [p for p in patches if p.changed]
    if not patches:
        return []
    name = path.name
    try:
        files.check_unchanged(path, stamp)  # before any work: a file open is left at once
        with open_ods(path) as zin:
            content, warnings = _new_content(_read(zin, CONTENT), patches)
            files.replace_atomically(
                path, lambda tmp: _write_checked(zin, tmp, content), check=True, expected=stamp
            )
    except _Unfaithful as exc:
        _log.error("%s: the patched content.xml does not read back as planned (%s)", path, exc)
        raise WriteBackError(
            f"{name} : écriture refusée, le contenu modifié ne se relit pas comme prévu "
            f"({exc.where}) : classeur non modifié ; signalez-le au service informatique"
        ) from None
    except odsxml.PartError as exc:
        raise WriteBackError(
            f"{name} : écriture impossible ({exc}) : classeur non modifié. Ouvrez-le dans "
            "LibreOffice et enregistrez-le, il sera mis à jour au prochain passage"
        ) from None
    except WRITE_FAILURES as exc:
        raise write_failure(exc, path, "LibreOffice") from None
    return warnings


def _read(zin: zipfile.ZipFile, name: str) -> bytes:
    """An entry's bytes; Damaged when they do not match their CRC or stop short."""
    try:
        return zin.read(name)
    except KeyError:
        raise odsxml.PartError(f"partie {name} absente") from None
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        _log.debug("%s: %r", name, exc)
        raise Damaged(name) from None


# ---------------------------------------------------------------- content.xml


def _new_content(old: bytes, patches: list[SheetPatch]) -> tuple[bytes, list[str]]:
    """The patched content.xml and the warnings of the sheets left as they are.

    Raises SkippedWrite when no sheet can be written, _Unfaithful when the result does not
    read back as planned.
    """
    root = odsxml.parse(old, CONTENT)
    before = read_tree(root, CONTENT)
    elements = odsxml.tables(root)
    if len(elements) != len(before):
        raise odsxml.PartError(f"partie {CONTENT} : tableaux imbriqués de façon inattendue")
    styles = odsxml.Styles(root)
    warnings: list[str] = []
    written: list[tuple[Table, SheetPatch]] = []
    for patch in patches:
        table = _table_of(before, patch)
        if _rows_moved(table, patch):
            warnings.append(
                f"onglet « {patch.title} » : des lignes ont été insérées, supprimées ou triées "
                "depuis la lecture ; rien n'y est écrit ce passage, nouvel essai au prochain"
            )
            continue
        odsxml.patch_table(elements[table.index - 1], patch, styles)
        written.append((table, patch))
    if not written:
        raise SkippedWrite(" ; ".join(warnings))
    _check_faithful(before, read_tree(root, CONTENT), written)
    return odsxml.serialise(root), warnings


def _table_of(tables: list[Table], patch: SheetPatch) -> Table:
    """The table a patch names by its part (``content.xml#N``), checked by its title."""
    _, _, number = patch.part.partition("#")
    index = int(number) if number.isdigit() else 0
    if not 1 <= index <= len(tables) or tables[index - 1].title != patch.title:
        raise odsxml.PartError(f"onglet « {patch.title} » introuvable dans {CONTENT}")
    return tables[index - 1]


def _rows_moved(table: Table, patch: SheetPatch) -> bool:
    """Whether a key column no longer holds, row by row, the values read."""
    for col, before in patch.anchors.items():
        now = [row[col] if col < len(row) else "" for row in table.rows]
        while now and (now[-1] is None or now[-1] == ""):
            now.pop()
        if now != before:
            return True
    return False


def _check_faithful(
    before: list[Table], after: list[Table], written: list[tuple[Table, SheetPatch]]
) -> None:
    """_Unfaithful unless ``after`` is ``before`` with exactly the patches' cells changed."""
    planned: dict[int, dict[int, dict[int, Any]]] = {}  # table -> row -> column -> value
    for table, patch in written:
        rows = planned.setdefault(table.index, {})
        for col, title in patch.headers.items():
            rows.setdefault(patch.header_row, {})[col] = title
        for (row, col), value in patch.cells.items():
            rows.setdefault(row, {})[col] = _as_read(value)
    for old, new in zip(before, after, strict=True):
        if new.title != old.title:
            raise _Unfaithful(old.title, 1, 0)
        wanted = planned.get(old.index, {})
        for r in range(1, max(len(old.rows), len(new.rows), *wanted) + 1):
            old_row = old.rows[r - 1] if r <= len(old.rows) else []
            new_row = new.rows[r - 1] if r <= len(new.rows) else []
            cells = wanted.get(r, {})
            for c in range(max(len(old_row), len(new_row), *(col + 1 for col in cells))):
                expected = cells[c] if c in cells else old_row[c] if c < len(old_row) else ""
                if not _same(new_row[c] if c < len(new_row) else "", expected):
                    raise _Unfaithful(old.title, r, c)


def _same(got: Any, expected: Any) -> bool:
    """Same value and same type (a date is not a datetime, 1.0 is not True); NaN is NaN."""
    if type(got) is not type(expected):
        return False
    return bool(got == expected or (got != got and expected != expected))


def _as_read(value: Any) -> Any:
    """What the reader gives back for a value written (numbers are floats, a moment at
    midnight is a date, nothing is "")."""
    if value is None:
        return ""
    if isinstance(value, str):
        return odsxml.clean_text(value)
    if isinstance(value, bool):
        return value
    if isinstance(value, dt.datetime) and value.time() == dt.time():
        return value.date()
    if isinstance(value, int | float):
        return float(value)
    return value


# ---------------------------------------------------------------- the zip


def _write_checked(zin: zipfile.ZipFile, target: Path, content: bytes) -> None:
    """Write the new package, then read it back: a file that does not is never put in place."""
    _write_zip(zin, target, content)
    check_written(target)


def _write_zip(zin: zipfile.ZipFile, target: Path, content: bytes) -> None:
    """``mimetype`` first and stored, content.xml recompressed, every other entry raw."""
    infos = zin.infolist()
    mimetype = [i for i in infos if i.filename == MIMETYPE]
    with open(target, "wb") as fh, zipfile.ZipFile(fh, "w") as zout:
        for info in mimetype:
            if info.compress_type == zipfile.ZIP_STORED:
                copy_raw(zin, zout, info)
            else:  # not as OpenDocument requires: the same bytes, stored
                zout.writestr(copy.copy(info), _read(zin, MIMETYPE), zipfile.ZIP_STORED)
        for info in infos:
            if info.filename == MIMETYPE:
                continue
            if info.filename == CONTENT:
                zout.writestr(copy.copy(info), content, compress_type=zipfile.ZIP_DEFLATED,
                              compresslevel=COMPRESS_LEVEL)  # fmt: skip
            else:
                copy_raw(zin, zout, info)
