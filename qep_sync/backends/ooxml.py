"""The zip package of an .xlsx/.xlsm file: safety checks and the few parts we need to locate.

Everything a user's file may contain arrives here first, so this is where hostile or
damaged files are refused, each with one French reason: not a workbook, truncated,
encrypted, an XML bomb (entity declarations), a zip bomb (the checks every workbook zip
gets, .ods included, are in ``zipparts``). The readers of workbook.xml,
its relationships and styles.xml accept both the transitional namespaces and those of
Excel's « Strict Open XML Spreadsheet », and ignore what they cannot read (a format id
that is not a number) rather than fail on it. The streaming pass over worksheet parts is
in ``sheetscan``.
"""

from __future__ import annotations

import posixpath
import re
import zipfile
import zlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from xml.etree.ElementTree import Element

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from qep_sync import files
from qep_sync.backends.zipparts import PackageError, check_entries

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ENCRYPTION_MARK = "EncryptionInfo".encode("utf-16-le")

NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
NS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
NS_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
# Excel's « Strict Open XML Spreadsheet » names the same elements in other namespaces
# (the package relationships keep theirs).
NS_MAIN_STRICT = "http://purl.oclc.org/ooxml/spreadsheetml/main"
NS_REL_STRICT = "http://purl.oclc.org/ooxml/officeDocument/relationships"
MAIN_NAMESPACES = (NS_MAIN, NS_MAIN_STRICT)
REL_NAMESPACES = (NS_REL, NS_REL_STRICT)

# Above this many cells in a sheet's rectangle (A1 to its last cell), xlsx.read_workbook
# reads the sheet with sheetscan.read_sheet_rows instead of calamine, which allocates the
# whole rectangle: measured on python-calamine 0.9.1, about 42 bytes per cell of peak
# memory (1 M cells: 40 MB; 5 M cells: 198 MB), so 4 M cells keep it near 170 MB.
MAX_CELLS = 4_000_000

# Built-in number formats that show a date or a time (ECMA-376 §18.8.30), as calamine
# classifies them; 46 ([h]:mm:ss) is an elapsed time, not a date.
BUILTIN_DATE_FORMATS = frozenset({"14", "15", "16", "17", "18", "19", "20", "21", "22", "45", "47"})
BUILTIN_DURATION_FORMATS = frozenset({"46"})


@dataclass(frozen=True)
class SheetPart:
    title: str
    part: str  # zip entry name, e.g. xl/worksheets/sheet1.xml


def _sniff_ole(path: Path) -> None:
    with path.open("rb") as fh:
        head = fh.read(8)
        if head != OLE_MAGIC:
            return
        body = fh.read(4 << 20)
    if ENCRYPTION_MARK in body:
        raise PackageError(
            "classeur protégé par un mot de passe à l'ouverture : qep-sync ne peut pas le lire. "
            "Enregistrez-le sans mot de passe d'ouverture (la protection des feuilles reste possible)"
        )
    raise PackageError(
        "ancien format Excel 97-2003 (.xls) : ouvrez-le et enregistrez-le au format .xlsx"
    )


def open_package(path: Path) -> zipfile.ZipFile:
    """Open a workbook's zip after the safety checks; raise PackageError with the reason."""
    try:
        _sniff_ole(path)
        zf = zipfile.ZipFile(path)
    except PackageError:
        raise
    except zipfile.BadZipFile:
        if path.stat().st_size == 0:
            raise PackageError("fichier vide (0 octet) : ce n'est pas un classeur Excel") from None
        with path.open("rb") as fh:
            zipped = fh.read(2) == b"PK"
        if zipped:
            raise PackageError(
                "fichier endommagé ou incomplet (archive tronquée) : restaurez une version "
                "précédente ou réenregistrez-le depuis Excel"
            ) from None
        raise PackageError("ce fichier n'est pas un classeur Excel (.xlsx)") from None
    except OSError as exc:
        raise PackageError(f"lecture impossible ({files.os_reason(exc)})") from None
    try:
        names = set(zf.namelist())
        if "xl/workbook.xml" not in names:
            raise PackageError(
                "ce fichier n'est pas un classeur Excel (.xlsx) : partie xl/workbook.xml absente"
            )
        check_entries(zf, (".xml", ".rels"), damaged_part)
    except PackageError:
        zf.close()
        raise
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, RuntimeError, ValueError):
        zf.close()
        raise PackageError(
            "fichier endommagé ou incomplet : restaurez une version précédente ou "
            "réenregistrez-le depuis Excel"
        ) from None
    return zf


def parse_part(zf: zipfile.ZipFile, name: str) -> Element:
    """Parse a small XML part (workbook, rels, styles) with entity expansion forbidden."""
    try:
        return SafeET.fromstring(zf.read(name))
    except DefusedXmlException:
        raise PackageError(
            f"contenu XML dangereux dans {name} : fichier refusé par sécurité"
        ) from None
    except SafeET.ParseError as exc:
        line, column = getattr(exc, "position", (0, 0))
        raise PackageError(
            f"partie {name} illisible : XML mal formé ligne {line}, colonne {column + 1} ; "
            "restaurez une version précédente du classeur ou réenregistrez-le depuis Excel"
        ) from None
    except KeyError:
        raise PackageError(
            f"partie {name} absente du classeur : restaurez une version précédente ou "
            "réenregistrez-le depuis Excel"
        ) from None
    except (zipfile.BadZipFile, zlib.error, EOFError):
        raise damaged_part(name) from None


def damaged_part(name: str) -> PackageError:
    """A part whose compressed data does not decompress or whose CRC is wrong."""
    return PackageError(
        f"partie {name} endommagée (données compressées illisibles ou somme de contrôle "
        "fausse) : restaurez une version précédente du classeur ou réenregistrez-le depuis Excel"
    )


def _target(base_dir: str, target: str) -> str:
    if target.startswith("/"):
        return target.lstrip("/")
    return posixpath.normpath(posixpath.join(base_dir, target))


def sheet_parts(zf: zipfile.ZipFile) -> list[SheetPart]:
    """Worksheets in tab order, with the zip entry that holds each."""
    workbook = parse_part(zf, "xl/workbook.xml")
    try:
        rels = parse_part(zf, "xl/_rels/workbook.xml.rels")
    except PackageError:
        return []
    targets = {
        r.get("Id"): _target("xl", r.get("Target", ""))
        for r in rels.iter(f"{{{NS_PKG_REL}}}Relationship")
        if r.get("Type", "").endswith("/worksheet")
    }
    parts = []
    for sheet in iter_main(workbook, "sheet"):
        rid = next(
            (sheet.get(f"{{{ns}}}id") for ns in REL_NAMESPACES if sheet.get(f"{{{ns}}}id")), None
        )
        if rid in targets:
            parts.append(SheetPart(sheet.get("name", ""), targets[rid]))
    return parts


def iter_main(root: Element, name: str) -> list[Element]:
    """The elements ``name`` under ``root`` in the transitional or the strict namespace."""
    found: list[Element] = []
    for ns in MAIN_NAMESPACES:
        found.extend(root.iter(f"{{{ns}}}{name}"))
    return found


def _find_main(root: Element, name: str) -> Element | None:
    for ns in MAIN_NAMESPACES:
        child = root.find(f"{{{ns}}}{name}")
        if child is not None:
            return child
    return None


def _children_main(parent: Element, name: str) -> list[Element]:
    return [child for child in parent if child.tag in {f"{{{ns}}}{name}" for ns in MAIN_NAMESPACES}]


def is_date1904(zf: zipfile.ZipFile) -> bool:
    """Whether the workbook counts dates from 1904 (Mac Excel's system), as calamine reads it."""
    workbook = parse_part(zf, "xl/workbook.xml")
    for pr in iter_main(workbook, "workbookPr"):
        return pr.get("date1904") in ("1", "true")  # exactly calamine's test
    return False


def _is_percent_code(code: str) -> bool:
    # A % outside quotes and not escaped by a backslash makes a percent format.
    code = re.sub(r'"[^"]*"|\\.', "", code)
    return "%" in code


def _as_int(text: str | None) -> int | None:
    """An attribute holding a number, or None when it holds anything else."""
    if text is None:
        return None
    try:
        return int(text.strip())
    except ValueError:
        return None


@dataclass(frozen=True)
class CellStyles:
    """What styles.xml says of each cell style (index = the ``s`` attribute of a cell).

    ``format_ids`` keeps each style's numFmtId as written (calamine matches them as text),
    ``custom`` the workbook's own format codes by id as written.
    """

    format_ids: tuple[str | None, ...]
    custom: dict[str, str]

    def code(self, index: int) -> str | None:
        fmt = self.format_ids[index]
        return None if fmt is None else self.custom.get(fmt)


def cell_styles(zf: zipfile.ZipFile) -> CellStyles:
    """The number format of every cell style; nothing when styles.xml is absent."""
    if "xl/styles.xml" not in zf.namelist():
        return CellStyles((), {})
    styles = parse_part(zf, "xl/styles.xml")
    custom: dict[str, str] = {}
    for f in iter_main(styles, "numFmt"):
        fmt_id, code = f.get("numFmtId"), f.get("formatCode")
        if fmt_id is not None and code is not None:
            custom[fmt_id] = code
    cell_xfs = _find_main(styles, "cellXfs")
    if cell_xfs is None:
        return CellStyles((), custom)
    ids = tuple(xf.get("numFmtId") for xf in _children_main(cell_xfs, "xf"))
    return CellStyles(ids, custom)


def percent_styles(zf: zipfile.ZipFile) -> frozenset[int]:
    """Indexes of cell styles (``s=`` attribute) whose number format shows a percentage.

    A format id that is not a number names no format: that style is simply not a percentage.
    """
    styles = cell_styles(zf)
    found = set()
    for i, raw in enumerate(styles.format_ids):
        code = styles.code(i)
        if code is not None:
            if _is_percent_code(code):
                found.add(i)
        elif _as_int(raw) in (9, 10):
            found.add(i)
    return frozenset(found)


def number_kind(code: str) -> str:
    """« date », « duration » or « other »: how calamine reads a number shown with ``code``.

    A port of calamine's ``detect_custom_number_format`` (formats.rs, MIT) so that the
    streaming reader types cells exactly as calamine does: d/m/y/h/s outside quotes,
    brackets and escapes make a date or time; [h], [m] or [s] an elapsed time; only the
    first section (before ``;``) counts.
    """
    escaped = is_quote = ap = hms = False
    brackets = 0
    prev = " "
    for ch in code:
        if escaped:
            escaped = False
        elif ch in "_\\*":
            escaped = True  # the next character is a literal (or a width/fill), not a token
        elif is_quote:
            if ch == '"':
                is_quote = False
        elif ch == '"':
            is_quote = True
        elif ch == ";":
            return "other"
        elif ch == "[":
            brackets += 1
        elif ch == "]" and brackets == 1 and hms:
            return "duration"
        elif ch == "]":
            brackets = max(brackets - 1, 0)
        elif ch in "aA" and not ap and brackets == 0:
            ap = True
        elif brackets == 0 and ch in ("pm/PM" if ap else "dmhysDMHYS"):
            return "date"  # after an « a », only a/p or am/pm continues a date token
        elif not (hms and ch.lower() == prev.lower()):
            hms = prev == "[" and ch in "mhsMHS"
        prev = ch
    return "other"


def style_kinds(zf: zipfile.ZipFile) -> tuple[str, ...]:
    """The number kind (``number_kind``) of every cell style, by index."""
    styles = cell_styles(zf)
    kinds = []
    for i, raw in enumerate(styles.format_ids):
        code = styles.code(i)
        if code is not None:
            kinds.append(number_kind(code))
        elif raw in BUILTIN_DATE_FORMATS:
            kinds.append("date")
        elif raw in BUILTIN_DURATION_FORMATS:
            kinds.append("duration")
        else:
            kinds.append("other")
    return tuple(kinds)


def date_styles(zf: zipfile.ZipFile) -> frozenset[int]:
    """Indexes of cell styles whose number format shows a date or a time of day.

    Built-in formats 14–22, 45 and 47, and custom codes with d/m/y/h/s outside quotes and
    brackets; elapsed times ([h]:mm) are not dates (calamine reads them as durations).
    """
    return frozenset(i for i, kind in enumerate(style_kinds(zf)) if kind == "date")


_ATTR_R = re.compile(rb'\br="([A-Z]+)(\d+)"')
_ATTR_S = re.compile(rb'\bs="(\d+)"')


def _style_value(styles: frozenset[int]) -> bytes:
    """An ``s=`` attribute naming one of ``styles``, leading zeros allowed (as int() reads it)."""
    return b's="0*(?:' + "|".join(str(i) for i in sorted(styles)).encode() + b')"'


@cache
def _styled_tag(styles: frozenset[int]) -> re.Pattern[bytes]:
    """The cell tags (any namespace prefix) holding an ``s=`` that names one of ``styles``:
    the other tags are skipped in C."""
    return re.compile(
        rb"<(?:[A-Za-z_][\w.-]*:)?c\b(?=[^>]*\b" + _style_value(styles) + rb")([^>]*)>"
    )


@cache
def _style_mention(styles: frozenset[int]) -> re.Pattern[bytes]:
    return re.compile(_style_value(styles))


def mentions_styles(xml: bytes, styles: frozenset[int]) -> bool:
    """Whether a sheet's XML may hold cells of ``styles`` (False: ``styled_cells_in`` finds
    none), tested in C: what may need them later is kept only for such sheets."""
    return bool(styles) and _style_mention(styles).search(xml) is not None


def styled_cells(zf: zipfile.ZipFile, part: str, styles: frozenset[int]) -> set[tuple[int, int]]:
    """(row, 0-based column) of the cells of a sheet whose style is one of ``styles``."""
    if not styles:
        return set()
    return styled_cells_in(zf.read(part), styles)


def styled_cells_in(xml: bytes, styles: frozenset[int]) -> set[tuple[int, int]]:
    """``styled_cells`` of a sheet part's XML. Only the tags naming one of ``styles`` reach
    Python; each is read as every cell tag would be (its first ``s=`` decides)."""
    if not styles:
        return set()
    found = set()
    for m in _styled_tag(styles).finditer(xml):
        attrs = m.group(1)
        s = _ATTR_S.search(attrs)
        if s is None or int(s.group(1)) not in styles:
            continue
        r = _ATTR_R.search(attrs)
        if r is None:
            continue
        col = 0
        for ch in r.group(1):
            col = col * 26 + ch - 64
        found.add((int(r.group(2)), col - 1))
    return found
