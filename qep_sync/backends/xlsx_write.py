"""Write-back into an .xlsx/.xlsm: the owned cells patched into the worksheets' XML, every
other part of the zip copied byte for byte, the file replaced atomically (``files``).
"""

from __future__ import annotations

import copy
import re
import struct
import zipfile
from pathlib import Path

from lxml import etree

from qep_sync import files
from qep_sync.backends.ooxml import PackageError, open_package
from qep_sync.backends.sheetxml import ensure_styles, patch_sheet
from qep_sync.core.contract import SheetPatch, SkippedWrite
from qep_sync.errors import WriteBackError

_FORMULA = re.compile(rb"<(?:\w+:)?f[ >/]")
_CALC_PR = re.compile(rb"<(?:\w+:)?calcPr\b[^>]*?/?>")
_AFTER_CALC_PR = re.compile(
    rb"<(?:\w+:)?(?:oleSize|customWorkbookViews|pivotCaches|smartTagPr|smartTagTypes|"
    rb"webPublishing|fileRecoveryPr|webPublishObjects|extLst)\b|</(?:\w+:)?workbook>"
)
_SHEETS_END = re.compile(rb"</(?:\w+:)?sheets>")
_CALC_CHAIN_REL = re.compile(rb"<Relationship\b[^>]*?Target=\"[^\"]*calcChain\.xml\"[^>]*/>")
_CALC_CHAIN_TYPE = re.compile(rb"<Override\b[^>]*?PartName=\"/xl/calcChain\.xml\"[^>]*/>")


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


def write_back(
    path: Path, stamp: files.Stamp, patches: list[SheetPatch], *, date1904: bool = False
) -> None:
    """Write owned cells into a workbook atomically.

    Only the patched worksheets change, plus (when needed) two styles appended to
    styles.xml, fullCalcOnLoad in workbook.xml when the workbook has formulas, and
    calcChain.xml dropped when a formula cell had to be overwritten. Every other entry is
    copied byte for byte. ``stamp`` is the file as it was read: raises SkippedWrite when the
    file is locked or changed since, WriteBackError when it cannot be written. ``date1904``:
    the workbook counts dates from 1904 (Mac Excel), so must the dates written.
    """
    patches = [p for p in patches if p.changed]
    if not patches:
        return
    try:
        files.check_unchanged(path, stamp)  # before any work: a file open in Excel is left at once
        with open_package(path) as zin:
            new_parts, dropped = _new_parts(zin, patches, path)
            files.replace_atomically(
                path, lambda tmp: _write_zip(zin, tmp, new_parts, dropped), check=True,
                expected=stamp,
            )  # fmt: skip
    except files.NotReplaced as exc:
        raise SkippedWrite(
            f"classeur {exc.reason} : non modifié, nouvel essai au prochain passage"
        ) from None
    except PackageError as exc:
        raise WriteBackError(f"{path.name} : {exc}") from None
    except (OSError, zipfile.BadZipFile, ValueError, etree.LxmlError) as exc:
        raise WriteBackError(f"{path.name} : écriture impossible ({exc})") from None


def _new_parts(
    zin: zipfile.ZipFile, patches: list[SheetPatch], path: Path
) -> tuple[dict[str, bytes], set[str]]:
    """The parts that change (patched sheets, styles, workbook.xml...) and those dropped."""
    names = zin.namelist()
    if "xl/styles.xml" not in names:
        raise WriteBackError(f"{path.name} : feuille de styles absente, écriture impossible")
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
    return new_parts, dropped


def _write_zip(
    zin: zipfile.ZipFile, target: Path, new_parts: dict[str, bytes], dropped: set[str]
) -> None:
    """The new package: changed parts recompressed, every other entry copied byte for byte."""
    with open(target, "wb") as fh, zipfile.ZipFile(fh, "w") as zout:
        for info in zin.infolist():
            if info.filename in dropped:
                continue
            if info.filename in new_parts:
                zout.writestr(copy.copy(info), new_parts[info.filename],
                              compress_type=zipfile.ZIP_DEFLATED, compresslevel=6)  # fmt: skip
            else:
                _copy_raw(zin, zout, info)


def _has_formulas(zin: zipfile.ZipFile, new_parts: dict[str, bytes]) -> bool:
    for name in zin.namelist():
        if name.startswith("xl/worksheets/") and name.endswith(".xml"):
            data = new_parts.get(name) or zin.read(name)
            if _FORMULA.search(data):
                return True
    return False
