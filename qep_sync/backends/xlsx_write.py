"""Write-back into an .xlsx/.xlsm: the owned cells patched into the worksheets' XML, every
other part of the zip copied byte for byte (``zipparts``), the file replaced atomically
(``files``).

Nothing damaged goes through unnoticed. Every entry copied raw is decompressed and checked
against the CRC of the central directory (a raw copy would otherwise carry a damaged part into
the new file), every part that is edited is parsed first, ``[Content_Types].xml`` must be
there and parse, and the temporary file is read back (``testzip``) before it replaces the
original. A refusal leaves the file untouched: WriteBackError (French, naming the part) for
a damaged workbook, SkippedWrite for one that cannot be patched safely (a sheet whose rows or
cells are ambiguous, Strict Open XML: see ``sheetxml``). Library messages (zipfile, lxml,
the system's) go to the debug log only; the user reads French.
"""

from __future__ import annotations

import copy
import logging
import posixpath
import re
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

from qep_sync import files
from qep_sync.backends.ooxml import NS_MAIN, NS_PKG_REL, open_package
from qep_sync.backends.sheetsplice import splice_sheet
from qep_sync.backends.sheetxml import PartError, check_namespace, ensure_styles, parse, patch_sheet
from qep_sync.backends.zipparts import (
    COMPRESS_LEVEL,
    WRITE_FAILURES,
    Damaged,
    check_written,
    copy_raw,
    write_failure,
)
from qep_sync.core.contract import SheetPatch
from qep_sync.errors import WriteBackError

_log = logging.getLogger(__name__)

CONTENT_TYPES = "[Content_Types].xml"
WORKBOOK = "xl/workbook.xml"
WORKBOOK_RELS = "xl/_rels/workbook.xml.rels"
STYLES = "xl/styles.xml"
CALC_CHAIN = "xl/calcChain.xml"
Part = bytes | list[bytes]  # a changed part's XML: whole, or a patched sheet's pieces
_FORMULA = re.compile(rb"<(?:\w+:)?f[ >/]")
_CALC_PR = re.compile(rb"<(?:\w+:)?calcPr\b[^>]*?/?>")
_AFTER_CALC_PR = re.compile(
    rb"<(?:\w+:)?(?:oleSize|customWorkbookViews|pivotCaches|smartTagPr|smartTagTypes|"
    rb"webPublishing|fileRecoveryPr|webPublishObjects|extLst)\b|</(?:\w+:)?workbook>"
)
_SHEETS_END = re.compile(rb"</(?:\w+:)?sheets>")
_CALC_CHAIN_REL = re.compile(rb"<Relationship\b[^>]*?Target=\"[^\"]*calcChain\.xml\"[^>]*/>")
_DEFINED_NAME = re.compile(rb"(<(?:\w+:)?definedName\b[^>]*>)([^<]*)(</(?:\w+:)?definedName>)")
_LOCAL_SHEET = re.compile(rb'localSheetId="([0-9]+)"')
_CALC_CHAIN_TYPE = re.compile(rb"<Override\b[^>]*?PartName=\"/xl/calcChain\.xml\"[^>]*/>")


def write_back(
    path: Path, stamp: files.Stamp, patches: list[SheetPatch], *, date1904: bool = False
) -> None:
    """Write owned cells into a workbook atomically.

    Only the patched worksheets change, plus (when needed) two styles appended to
    styles.xml, fullCalcOnLoad in workbook.xml when the workbook has formulas, and
    calcChain.xml dropped when a formula cell had to be overwritten. Every other entry is
    copied byte for byte. ``stamp`` is the file as it was read: raises SkippedWrite when the
    file is locked or changed since, or cannot be patched safely; WriteBackError when it
    cannot be written (damaged, disk error). ``date1904``: the workbook counts dates from
    1904 (Mac Excel), so must the dates written.
    """
    patches = [p for p in patches if p.changed]
    if not patches:
        return
    name = path.name
    try:
        files.check_unchanged(path, stamp)  # before any work: a file open in Excel is left at once
        with open_package(path) as zin:
            new_parts, dropped = _new_parts(zin, patches, date1904)
            files.replace_atomically(
                path, lambda tmp: _write_checked(zin, tmp, new_parts, dropped), check=True,
                expected=stamp,
            )  # fmt: skip
    except PartError as exc:
        raise WriteBackError(
            f"{name} : écriture impossible ({exc}) : classeur non modifié. Ouvrez-le dans Excel "
            "et enregistrez-le, il sera mis à jour au prochain passage"
        ) from None
    except WRITE_FAILURES as exc:
        raise write_failure(exc, path, "Excel") from None


def _read(zin: zipfile.ZipFile, name: str) -> bytes:
    """An entry's bytes; Damaged when they do not match their CRC or stop short, PartError
    when the entry is not there (zipfile's KeyError is English)."""
    try:
        return zin.read(name)
    except KeyError:
        raise PartError(f"partie {name} absente") from None
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        _log.debug("%s: %r", name, exc)
        raise Damaged(name) from None


def _check_package(zin: zipfile.ZipFile, names: set[str]) -> None:
    """The parts every write needs: a content types part that parses, a SpreadsheetML
    workbook (Strict Open XML refused, see ``sheetxml``), a styles part."""
    check_namespace(parse(_read(zin, WORKBOOK), WORKBOOK), WORKBOOK, "classeur")
    if CONTENT_TYPES not in names:
        raise PartError(f"partie {CONTENT_TYPES} absente")
    parse(_read(zin, CONTENT_TYPES), CONTENT_TYPES)
    if STYLES not in names:
        raise PartError(f"feuille de styles {STYLES} absente")


def _new_parts(
    zin: zipfile.ZipFile, patches: list[SheetPatch], date1904: bool
) -> tuple[dict[str, Part], set[str]]:
    """The parts that change (patched sheets, styles, workbook.xml...) and those dropped."""
    names = set(zin.namelist())
    _check_package(zin, names)
    new_styles, ids = ensure_styles(_read(zin, STYLES), STYLES)
    new_parts: dict[str, Part] = {}
    if new_styles is not None:
        new_parts[STYLES] = new_styles
    overwrote_formula = False
    filters: dict[str, tuple[str, str]] = {}  # part -> its autofilter's old and new ranges
    for patch in patches:
        if patch.part not in names:
            raise PartError(f"onglet « {patch.title} » : partie {patch.part} absente du classeur")
        xml = _read(zin, patch.part)
        patched = splice_sheet(xml, patch, ids, date1904=date1904) or patch_sheet(
            xml, patch, ids, date1904=date1904
        )
        new_parts[patch.part] = patched.pieces
        overwrote_formula |= patched.had_formula
        if patched.autofilter is not None:
            filters[patch.part] = patched.autofilter
    if filters:
        wb_xml = _read(zin, WORKBOOK)
        renamed = _extend_filter_names(wb_xml, _sheet_indexes(zin), filters)
        if renamed != wb_xml:
            new_parts[WORKBOOK] = renamed
    dropped: set[str] = set()
    if overwrote_formula and CALC_CHAIN in names:
        dropped.add(CALC_CHAIN)
        rels = _read(zin, WORKBOOK_RELS)
        parse(rels, WORKBOOK_RELS)  # edited as text: refuse it if it is not XML
        new_parts[WORKBOOK_RELS] = _CALC_CHAIN_REL.sub(b"", rels)
        new_parts[CONTENT_TYPES] = _CALC_CHAIN_TYPE.sub(b"", _read(zin, CONTENT_TYPES))
    if _has_formulas(zin, new_parts):
        wb_xml = _whole(new_parts[WORKBOOK]) if WORKBOOK in new_parts else _read(zin, WORKBOOK)
        with_calc = _full_calc_on_load(wb_xml)
        if with_calc != wb_xml:
            new_parts[WORKBOOK] = with_calc
    return new_parts, dropped


def _sheet_indexes(zin: zipfile.ZipFile) -> dict[str, int]:
    """Worksheet part -> its sheet's index among the workbook's sheets (a defined name's
    ``localSheetId``, chartsheets counted)."""
    workbook = parse(_read(zin, WORKBOOK), WORKBOOK)
    rels = parse(_read(zin, WORKBOOK_RELS), WORKBOOK_RELS)
    targets = {
        r.get("Id"): posixpath.normpath(posixpath.join("xl", r.get("Target", "")))
        if not r.get("Target", "").startswith("/") else r.get("Target", "").lstrip("/")
        for r in rels.iter(f"{{{NS_PKG_REL}}}Relationship")
    }  # fmt: skip
    out = {}
    for i, sheet in enumerate(workbook.iter(f"{{{NS_MAIN}}}sheet")):
        rid = next((v for k, v in sheet.attrib.items() if str(k).endswith("}id")), None)
        if rid in targets:
            out[targets[rid]] = i
    return out


def _extend_filter_names(
    workbook_xml: bytes, indexes: dict[str, int], filters: dict[str, tuple[str, str]]
) -> bytes:
    """The hidden name of each extended autofilter (``_xlnm._FilterDatabase`` local to its
    sheet) set to the same new range; workbook.xml otherwise unchanged, byte for byte."""
    wanted = {str(indexes[part]): ranges for part, ranges in filters.items() if part in indexes}

    def extend(m: re.Match[bytes]) -> bytes:
        tag, text = m.group(1), m.group(2)
        sheet = _LOCAL_SHEET.search(tag)
        if b'name="_xlnm._FilterDatabase"' not in tag or sheet is None:
            return m.group(0)
        ranges = wanted.get(sheet.group(1).decode())
        if ranges is None:
            return m.group(0)
        old, new = (_absolute(r).encode() for r in ranges)
        if not text.endswith(b"!" + old):
            return m.group(0)
        return tag + text[: -len(old)] + new + m.group(3)

    return _DEFINED_NAME.sub(extend, workbook_xml)


def _absolute(ref: str) -> str:
    """« A3:M53 » as a defined name writes it: « $A$3:$M$53 »."""
    return ":".join(re.sub(r"([A-Z]+)([0-9]+)", r"$\1$\2", part) for part in ref.split(":"))


def _write_checked(
    zin: zipfile.ZipFile, target: Path, new_parts: dict[str, Part], dropped: set[str]
) -> None:
    """Write the new package, then read it back: a file that does not is never put in place."""
    _write_zip(zin, target, new_parts, dropped)
    check_written(target)


def _write_zip(
    zin: zipfile.ZipFile, target: Path, new_parts: dict[str, Part], dropped: set[str]
) -> None:
    """The new package: changed parts recompressed, every other entry copied byte for byte."""
    with open(target, "wb") as fh, zipfile.ZipFile(fh, "w") as zout:
        for info in zin.infolist():
            if info.filename in dropped:
                continue
            if info.filename in new_parts:
                _write_part(zout, copy.copy(info), new_parts[info.filename])
            else:
                copy_raw(zin, zout, info)


def _write_part(zout: zipfile.ZipFile, info: zipfile.ZipInfo, part: Part) -> None:
    """A changed part, compressed as its pieces come (``ZipFile.writestr`` for a part in
    pieces: the same entry, never joined in memory)."""
    pieces = [part] if isinstance(part, bytes) else part
    info.compress_type = zipfile.ZIP_DEFLATED
    info._compresslevel = COMPRESS_LEVEL  # type: ignore[attr-defined]  # as writestr sets it
    info.file_size = sum(map(len, pieces))  # before opening: it decides on ZIP64
    with zout.open(info, mode="w") as out:
        for block in _blocks(pieces):
            out.write(block)


def _blocks(pieces: list[bytes], size: int = 1 << 20) -> Iterator[bytes]:
    """The pieces joined ``size`` bytes or so at a time: one write per row would cost twice
    the compression itself (a call each), one for the whole part would hold it twice."""
    block: list[bytes] = []
    held = 0
    for piece in pieces:
        block.append(piece)
        held += len(piece)
        if held >= size:
            yield b"".join(block)
            block, held = [], 0
    if block:
        yield b"".join(block)


def _has_formulas(zin: zipfile.ZipFile, new_parts: dict[str, Part]) -> bool:
    for name in zin.namelist():
        if name.startswith("xl/worksheets/") and name.endswith(".xml"):
            part = new_parts[name] if name in new_parts else _read(zin, name)
            pieces = [part] if isinstance(part, bytes) else part
            if any(_mentions_formula(piece) for piece in pieces):  # a tag is never cut
                return True
    return False


def _whole(part: Part) -> bytes:
    return part if isinstance(part, bytes) else b"".join(part)


def _mentions_formula(data: bytes) -> bool:
    """``_FORMULA.search(data)``, its usual answers found by ``in`` (ten times faster than a
    pattern tried at every « < »): a formula tag without a prefix is one of three texts, and
    one with a prefix has « :f » in it."""
    if b"<f>" in data or b"<f " in data or b"<f/" in data:
        return True
    return b":f" in data and _FORMULA.search(data) is not None


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
