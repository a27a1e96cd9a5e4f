"""Excel backend: reads a service's workbook (.xlsx, .xlsm) into plain rows.

Values come from python-calamine (several times faster than openpyxl, cached formula
values included); the zip is checked first (ooxml.open_package) and the few things
calamine does not say, such as which cells are formatted as percentages, are read
from the sheet XML only where a tracker needs them.
"""

from __future__ import annotations

import copy
import ctypes
import datetime as dt
import errno
import os
import re
import shutil
import struct
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import python_calamine
from lxml import etree

from qep_sync.backends.ooxml import (
    PackageError,
    SheetPart,
    open_package,
    percent_styles,
    sheet_parts,
    styled_cells,
)
from qep_sync.backends.sheetxml import SheetPatch, ensure_styles, patch_sheet
from qep_sync.core.contract import SheetData, SkippedWrite
from qep_sync.errors import SourceError, WriteBackError


@dataclass
class WorkbookData:
    """What was read from one workbook, and enough to find its parts again."""

    path: Path
    sheets: list[SheetData]
    mtime_ns: int
    size: int
    _percent_styles: frozenset[int] = frozenset()
    _percent_cache: dict[str, set[tuple[int, int]]] = field(default_factory=dict)

    def last_change(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.mtime_ns / 1e9, tz=dt.UTC)

    def link(self, sheet: str, row: int) -> str:
        return f"{self.path.name}, onglet « {sheet} », ligne {row}"

    def write(self, patches: list[SheetPatch]) -> list[str]:
        write_back(self, patches)
        return []

    def percent_cells(self, sheet: SheetData) -> set[tuple[int, int]]:
        """(row, column) of the cells shown as percentages in ``sheet``."""
        if sheet.part is None or not self._percent_styles:
            return set()
        if sheet.title not in self._percent_cache:
            with zipfile.ZipFile(self.path) as zf:
                self._percent_cache[sheet.title] = styled_cells(
                    zf, sheet.part, self._percent_styles
                )
        return self._percent_cache[sheet.title]


def read_workbook(path: Path, label: str | None = None) -> WorkbookData:
    """Every worksheet of a workbook; SourceError with a French reason when it cannot be read."""
    label = label or path.name
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise SourceError(label, "fichier introuvable") from None
    except OSError as exc:
        raise SourceError(label, f"lecture impossible ({exc.strerror or exc})") from None
    try:
        with open_package(path) as zf:
            parts = {p.title: p for p in sheet_parts(zf)}
            styles = percent_styles(zf)
    except PackageError as exc:
        raise SourceError(label, str(exc)) from None
    try:
        book = python_calamine.CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # calamine raises its own types for damaged content
        raise SourceError(label, f"classeur illisible ({_short(exc)})") from None
    sheets: list[SheetData] = []
    try:
        for meta in book.sheets_metadata:
            if str(meta.typ) != "SheetTypeEnum.WorkSheet":
                continue
            sheet = book.get_sheet_by_name(meta.name)
            rows = sheet.to_python(skip_empty_area=False)
            part: SheetPart | None = parts.get(meta.name)
            sheets.append(SheetData(meta.name, rows, part.part if part else None))
    except Exception as exc:
        raise SourceError(label, f"classeur illisible ({_short(exc)})") from None
    finally:
        book.close()
    return WorkbookData(path, sheets, stat.st_mtime_ns, stat.st_size, styles)


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


# ---------------------------------------------------------------- write-back


_FORMULA = re.compile(rb"<(?:\w+:)?f[ >/]")
_CALC_PR = re.compile(rb"<(?:\w+:)?calcPr\b[^>]*?/?>")
_AFTER_CALC_PR = re.compile(
    rb"<(?:\w+:)?(?:oleSize|customWorkbookViews|pivotCaches|smartTagPr|smartTagTypes|"
    rb"webPublishing|fileRecoveryPr|webPublishObjects|extLst)\b|</(?:\w+:)?workbook>"
)
_SHEETS_END = re.compile(rb"</(?:\w+:)?sheets>")
_CALC_CHAIN_REL = re.compile(rb"<Relationship\b[^>]*?Target=\"[^\"]*calcChain\.xml\"[^>]*/>")
_CALC_CHAIN_TYPE = re.compile(rb"<Override\b[^>]*?PartName=\"/xl/calcChain\.xml\"[^>]*/>")


def lock_file(path: Path) -> Path:
    """The owner file Excel and LibreOffice create beside a workbook they hold open."""
    return path.with_name("~$" + path.name)


def _check_unchanged(workbook: WorkbookData) -> None:
    path = workbook.path
    for lock in (lock_file(path), path.with_name(f".~lock.{path.name}#")):
        if lock.exists():
            raise SkippedWrite(
                f"classeur ouvert par un utilisateur ({lock.name} présent) : non modifié, "
                "nouvel essai au prochain passage"
            )
    try:
        stat = path.stat()
    except OSError as exc:
        raise SkippedWrite(f"classeur inaccessible ({exc.strerror or exc})") from None
    if (stat.st_mtime_ns, stat.st_size) != (workbook.mtime_ns, workbook.size):
        raise SkippedWrite(
            "classeur modifié depuis sa lecture : non modifié, nouvel essai au prochain passage"
        )


def _full_calc_on_load(workbook_xml: bytes) -> bytes:
    """Ask Excel to recalculate formulas on opening (they may use the cells just written)."""
    m = _CALC_PR.search(workbook_xml)
    if m:
        tag = m.group(0)
        if b"fullCalcOnLoad=" in tag:
            return workbook_xml
        end = -2 if tag.endswith(b"/>") else -1
        new = tag[:end].rstrip() + b' fullCalcOnLoad="1"' + tag[end:]
        return workbook_xml[: m.start()] + new + workbook_xml[m.end() :]
    # calcPr comes after <sheets> (and definedNames); searching from there keeps it out of a
    # <workbookView>'s own extLst, which would make workbook.xml invalid for Excel.
    sheets_end = _SHEETS_END.search(workbook_xml)
    anchor = _AFTER_CALC_PR.search(workbook_xml, sheets_end.end() if sheets_end else 0)
    if anchor is None:
        return workbook_xml
    prefix = re.match(rb"</?(\w+:)?", anchor.group(0))
    ns = prefix.group(1) or b"" if prefix else b""
    insert = b"<" + ns + b'calcPr fullCalcOnLoad="1"/>'
    return workbook_xml[: anchor.start()] + insert + workbook_xml[anchor.start() :]


def _copy_raw(zin: zipfile.ZipFile, zout: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
    """Copy an entry's compressed bytes as they are (no recompression, byte-identical)."""
    fp = zin.fp
    assert fp is not None and zout.fp is not None
    fp.seek(info.header_offset)
    header = fp.read(30)
    if header[:4] != b"PK\x03\x04":
        raise zipfile.BadZipFile(f"en-tête local invalide pour {info.filename}")
    name_len, extra_len = struct.unpack("<HH", header[26:30])
    fp.seek(info.header_offset + 30 + name_len + extra_len)
    raw = fp.read(info.compress_size)
    new = copy.copy(info)
    new.flag_bits &= ~0x08  # sizes go in the local header, no data descriptor
    new.extra = b""
    new.header_offset = zout.fp.tell()
    zout.fp.write(new.FileHeader(zip64=False))
    zout.fp.write(raw)
    zout.filelist.append(new)
    zout.NameToInfo[new.filename] = new
    zout.start_dir = zout.fp.tell()


def write_back(workbook: WorkbookData, patches: list[SheetPatch]) -> int:
    """Write owned cells into a workbook atomically; returns the number of cells set.

    Only the patched worksheets change, plus (when needed) two styles appended to
    styles.xml, fullCalcOnLoad in workbook.xml when the workbook has formulas, and
    calcChain.xml dropped when a formula cell had to be overwritten. Every other entry is
    copied byte for byte. Raises SkippedWrite when the file is locked or changed since
    it was read, WriteBackError when it cannot be written.
    """
    patches = [p for p in patches if p.changed]
    if not patches:
        return 0
    path = workbook.path
    _check_unchanged(workbook)
    tmp = path.with_name(f".{path.name}.qep-sync.tmp")
    try:
        with open_package(path) as zin:
            names = zin.namelist()
            if "xl/styles.xml" not in names:
                raise WriteBackError(
                    f"{path.name} : feuille de styles absente, écriture impossible"
                )
            new_styles, ids = ensure_styles(zin.read("xl/styles.xml"))
            new_parts: dict[str, bytes] = {}
            if new_styles is not None:
                new_parts["xl/styles.xml"] = new_styles
            overwrote_formula = False
            for patch in patches:
                xml, had_formula = patch_sheet(zin.read(patch.part), patch, ids)
                new_parts[patch.part] = xml
                overwrote_formula |= had_formula
            dropped: set[str] = set()
            if overwrote_formula and "xl/calcChain.xml" in names:
                dropped.add("xl/calcChain.xml")
                rels = "xl/_rels/workbook.xml.rels"
                new_parts[rels] = _CALC_CHAIN_REL.sub(b"", zin.read(rels))
                new_parts["[Content_Types].xml"] = _CALC_CHAIN_TYPE.sub(
                    b"", zin.read("[Content_Types].xml")
                )
            if _has_formulas(zin, new_parts):
                wb_xml = zin.read("xl/workbook.xml")
                patched = _full_calc_on_load(wb_xml)
                if patched != wb_xml:
                    new_parts["xl/workbook.xml"] = patched
            with open(tmp, "wb") as fh, zipfile.ZipFile(fh, "w") as zout:
                for info in zin.infolist():
                    if info.filename in dropped:
                        continue
                    if info.filename in new_parts:
                        zout.writestr(copy.copy(info), new_parts[info.filename],
                                      compress_type=zipfile.ZIP_DEFLATED, compresslevel=6)  # fmt: skip
                    else:
                        _copy_raw(zin, zout, info)
                zout.close()
                fh.flush()
                os.fsync(fh.fileno())
        shutil.copymode(path, tmp)
        _check_unchanged(workbook)
        _replace_if_unchanged(tmp, path, workbook)
    except SkippedWrite:
        tmp.unlink(missing_ok=True)
        raise
    except PackageError as exc:
        tmp.unlink(missing_ok=True)
        raise WriteBackError(f"{path.name} : {exc}") from None
    except (OSError, zipfile.BadZipFile, ValueError, etree.LxmlError) as exc:
        tmp.unlink(missing_ok=True)
        raise WriteBackError(f"{path.name} : écriture impossible ({exc})") from None
    _fsync_dir(path.parent)
    return sum(p.changed for p in patches)


_RENAME_EXCHANGE = 2  # linux/fs.h
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux renameat2 RENAME_EXCHANGE); False where unsupported."""
    if sys.platform != "linux":
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                          ctypes.c_uint]  # fmt: skip
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    if ctypes.get_errno() in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.EXDEV):
        return False  # a filesystem (SMB, some FUSE) or kernel without it
    raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()), str(b))


def _replace_if_unchanged(tmp: Path, path: Path, workbook: WorkbookData) -> None:
    """Put the new file in place, unless someone saved the workbook in the meantime.

    Where the system can swap two files atomically, the swap comes first and the file it
    displaced is checked after: a save that slipped in after the last check is put back and
    nothing of it is lost. Elsewhere, os.replace right after the check leaves a window of
    microseconds.
    """
    if not _exchange(tmp, path):
        os.replace(tmp, path)
        return
    displaced = tmp.stat()  # what was at ``path`` an instant ago
    if (displaced.st_mtime_ns, displaced.st_size) != (workbook.mtime_ns, workbook.size):
        _exchange(tmp, path)  # put the person's save back, drop ours
        tmp.unlink(missing_ok=True)
        raise SkippedWrite(
            "classeur modifié pendant l'écriture : non modifié, nouvel essai au prochain passage"
        )
    tmp.unlink()


def _has_formulas(zin: zipfile.ZipFile, new_parts: dict[str, bytes]) -> bool:
    for name in zin.namelist():
        if name.startswith("xl/worksheets/") and name.endswith(".xml"):
            data = new_parts.get(name) or zin.read(name)
            if _FORMULA.search(data):
                return True
    return False


def _fsync_dir(folder: Path) -> None:
    """Make the rename durable where the platform allows it (not on Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
