"""The zip package of an .xlsx/.xlsm file: safety checks and the few parts we need to locate.

Everything a user's file may contain arrives here first, so this is where hostile or
damaged files are refused, each with one French reason: not a workbook, truncated,
encrypted, an XML bomb (entity declarations), a zip bomb.
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from xml.etree.ElementTree import Element
from xml.parsers import expat

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ENCRYPTION_MARK = "EncryptionInfo".encode("utf-16-le")
MAX_TOTAL_UNCOMPRESSED = 1 << 30  # 1 GiB: far above any real tracker workbook
MAX_RATIO = 200  # compression ratio above which a large part is a zip bomb
PROLOG_LIMIT = 65536

NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
NS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
NS_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"


class PackageError(Exception):
    """The file cannot be opened as a workbook; the message is French."""


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


class _RootReached(Exception):
    pass


def _check_prolog(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
    """Refuse DTDs and entity declarations before the root element (XML bombs, XXE).

    expat reads the prolog as an XML parser would (comments, any encoding) and stops at
    the root element, so this costs one small read per part.
    """
    dangerous = PackageError(
        f"contenu XML dangereux dans {info.filename} (déclarations d'entités) : fichier refusé par sécurité"
    )

    def refuse(*_: object) -> None:
        raise dangerous

    def stop(*_: object) -> None:
        raise _RootReached

    parser = expat.ParserCreate()
    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.StartElementHandler = stop
    read = 0
    with zf.open(info) as fh:
        try:
            while chunk := fh.read(4096):
                read += len(chunk)
                parser.Parse(chunk, False)
                if read >= PROLOG_LIMIT:
                    raise PackageError(
                        f"contenu XML anormal dans {info.filename} : fichier refusé par sécurité"
                    )
            parser.Parse(b"", True)
        except _RootReached:
            return
        except expat.ExpatError:
            return  # not our concern here: the reader reports a damaged part in its own words


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
        raise PackageError(f"lecture impossible ({exc.strerror or exc})") from None
    try:
        names = set(zf.namelist())
        if "xl/workbook.xml" not in names:
            raise PackageError(
                "ce fichier n'est pas un classeur Excel (.xlsx) : partie xl/workbook.xml absente"
            )
        total = 0
        for info in zf.infolist():
            total += info.file_size
            big = info.file_size > (16 << 20)
            if big and info.file_size > MAX_RATIO * max(info.compress_size, 1):
                raise PackageError(
                    f"archive anormale ({info.filename} trop compressé) : fichier refusé par sécurité"
                )
            if info.flag_bits & 0x1:
                raise PackageError("archive chiffrée : enregistrez le classeur sans mot de passe")
            if info.filename.endswith((".xml", ".rels")):
                _check_prolog(zf, info)
        if total > MAX_TOTAL_UNCOMPRESSED:
            raise PackageError(
                f"archive anormale ({total >> 20} Mo une fois décompressée) : fichier refusé par sécurité"
            )
    except PackageError:
        zf.close()
        raise
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, ValueError) as exc:
        zf.close()
        raise PackageError(f"fichier endommagé ou incomplet ({exc})") from None
    return zf


def parse_part(zf: zipfile.ZipFile, name: str) -> Element:
    """Parse a small XML part (workbook, rels, styles) with entity expansion forbidden."""
    try:
        return SafeET.fromstring(zf.read(name))
    except DefusedXmlException:
        raise PackageError(
            f"contenu XML dangereux dans {name} : fichier refusé par sécurité"
        ) from None
    except (SafeET.ParseError, KeyError, zipfile.BadZipFile, EOFError) as exc:
        raise PackageError(f"partie {name} illisible ({exc})") from None


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
    for sheet in workbook.iter(f"{{{NS_MAIN}}}sheet"):
        rid = sheet.get(f"{{{NS_REL}}}id")
        if rid in targets:
            parts.append(SheetPart(sheet.get("name", ""), targets[rid]))
    return parts


def _is_percent_code(code: str) -> bool:
    # A % outside quotes and not escaped by a backslash makes a percent format.
    code = re.sub(r'"[^"]*"|\\.', "", code)
    return "%" in code


def percent_styles(zf: zipfile.ZipFile) -> frozenset[int]:
    """Indexes of cell styles (``s=`` attribute) whose number format shows a percentage."""
    if "xl/styles.xml" not in zf.namelist():
        return frozenset()
    styles = parse_part(zf, "xl/styles.xml")
    custom = {
        int(f.get("numFmtId", "-1")): f.get("formatCode", "")
        for f in styles.iter(f"{{{NS_MAIN}}}numFmt")
    }
    cell_xfs = styles.find(f"{{{NS_MAIN}}}cellXfs")
    if cell_xfs is None:
        return frozenset()
    found = set()
    for i, xf in enumerate(cell_xfs.findall(f"{{{NS_MAIN}}}xf")):
        fmt = int(xf.get("numFmtId", "0"))
        if fmt in (9, 10) or (fmt in custom and _is_percent_code(custom[fmt])):
            found.add(i)
    return frozenset(found)


_CELL_TAG = re.compile(rb"<c\b([^>]*)>")
_ATTR_R = re.compile(rb'\br="([A-Z]+)(\d+)"')
_ATTR_S = re.compile(rb'\bs="(\d+)"')


def styled_cells(zf: zipfile.ZipFile, part: str, styles: frozenset[int]) -> set[tuple[int, int]]:
    """(row, 0-based column) of the cells of a sheet whose style is one of ``styles``."""
    if not styles:
        return set()
    found = set()
    for m in _CELL_TAG.finditer(zf.read(part)):
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
