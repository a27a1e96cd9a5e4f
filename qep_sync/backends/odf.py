"""The zip package of an .ods file (OpenDocument spreadsheet): safety checks, and the names
the reader (``odsscan``) and the writer (``odsxml``, ``ods_write``) share.

Everything of a user's .ods arrives here first. The checks every workbook zip gets (zip
bombs, zip-level encryption, DTDs and entity declarations in XML parts) are ``zipparts``';
this module adds what is the OpenDocument's own: the ``mimetype`` entry names a
spreadsheet (an Excel workbook or a text document renamed .ods is told apart, with the way
out), ``content.xml`` is there, and a file encrypted by LibreOffice's « Enregistrer avec
mot de passe » (``manifest:encryption-data`` in ``META-INF/manifest.xml``) is refused as
such, not as damaged XML. Each refusal is one French reason (``PackageError``).
"""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from qep_sync import files
from qep_sync.backends.ooxml import OLE_MAGIC
from qep_sync.backends.zipparts import PackageError, check_entries

NS_OFFICE = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
NS_TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
NS_TEXT = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
NS_STYLE = "urn:oasis:names:tc:opendocument:xmlns:style:1.0"
NS_FO = "urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0"
NS_NUMBER = "urn:oasis:names:tc:opendocument:xmlns:datastyle:1.0"
NS_DRAW = "urn:oasis:names:tc:opendocument:xmlns:drawing:1.0"
NS_CALCEXT = "urn:org:documentfoundation:names:experimental:calc:xmlns:calcext:1.0"
NS_MANIFEST = "urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"

SPREADSHEET = "application/vnd.oasis.opendocument.spreadsheet"
SPREADSHEET_TYPES = (SPREADSHEET, SPREADSHEET + "-template")
MIMETYPE = "mimetype"
CONTENT = "content.xml"
MANIFEST = "META-INF/manifest.xml"

# LibreOffice Calc's grid (7.4 and later): a cell beyond it is no cell anyone can see.
MAX_ROWS = 1_048_576
MAX_COLUMNS = 16_384

ADVICE = "restaurez une version précédente ou réenregistrez-le depuis LibreOffice"
_OTHER_DOCUMENTS = {
    "text": "un document texte (Writer)",
    "presentation": "une présentation (Impress)",
    "graphics": "un dessin (Draw)",
    "formula": "une formule (Math)",
    "chart": "un diagramme",
    "database": "une base de données (Base)",
}


def open_ods(path: Path) -> zipfile.ZipFile:
    """Open an .ods file's zip after the safety checks; PackageError with the reason."""
    zf = _open_zip(path)
    try:
        check_entries(zf, (".xml", ".rdf"), damaged_part)
        _check_kind(zf)
        _check_not_encrypted(zf)
    except PackageError:
        zf.close()
        raise
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, RuntimeError, ValueError):
        zf.close()
        raise PackageError(f"fichier endommagé ou incomplet : {ADVICE}") from None
    return zf


def _open_zip(path: Path) -> zipfile.ZipFile:
    try:
        with path.open("rb") as fh:
            head = fh.read(8)
        if head == OLE_MAGIC:
            raise PackageError(
                "fichier au format Excel 97-2003 (.xls) ou protégé par un mot de passe, pas un "
                "classeur LibreOffice : ouvrez-le dans LibreOffice et enregistrez-le au format "
                ".ods sans mot de passe"
            )
        return zipfile.ZipFile(path)
    except PackageError:
        raise
    except zipfile.BadZipFile:
        if not head:
            raise PackageError(
                "fichier vide (0 octet) : ce n'est pas un classeur LibreOffice"
            ) from None
        if head[:2] == b"PK":
            raise PackageError(
                f"fichier endommagé ou incomplet (archive tronquée) : {ADVICE}"
            ) from None
        raise PackageError("ce fichier n'est pas un classeur LibreOffice (.ods)") from None
    except OSError as exc:
        raise PackageError(f"lecture impossible ({files.os_reason(exc)})") from None


def _check_kind(zf: zipfile.ZipFile) -> None:
    """A spreadsheet, by its ``mimetype`` entry and its content part: else what it is."""
    names = set(zf.namelist())
    if "xl/workbook.xml" in names:
        raise PackageError(
            "ce fichier est un classeur Excel dont le nom finit par .ods : renommez-le en "
            ".xlsx, ou ouvrez-le dans LibreOffice et enregistrez-le au format .ods"
        )
    if MIMETYPE in names:
        declared = zf.read(MIMETYPE)[:200].decode("ascii", "replace").strip()
        if declared not in SPREADSHEET_TYPES:
            kind = declared.removeprefix("application/vnd.oasis.opendocument.")
            what = _OTHER_DOCUMENTS.get(kind.removesuffix("-template"))
            if what is not None:
                raise PackageError(f"ce fichier est {what}, pas un classeur LibreOffice Calc")
            raise PackageError("ce fichier n'est pas un classeur LibreOffice (.ods)")
    if CONTENT not in names:
        raise PackageError(
            f"ce fichier n'est pas un classeur LibreOffice (.ods) : partie {CONTENT} absente"
        )


def _check_not_encrypted(zf: zipfile.ZipFile) -> None:
    """Refuse a file saved with a password: its content.xml is ciphered, not XML."""
    if MANIFEST not in zf.namelist():
        return
    try:
        manifest = SafeET.fromstring(zf.read(MANIFEST))
    except DefusedXmlException:
        raise PackageError(
            f"contenu XML dangereux dans {MANIFEST} : fichier refusé par sécurité"
        ) from None
    except SafeET.ParseError:
        return  # the manifest is not read for anything else: a damaged one is not our concern
    if manifest.find(f".//{{{NS_MANIFEST}}}encryption-data") is not None:
        raise PackageError(
            "classeur protégé par un mot de passe à l'ouverture : qep-sync ne peut pas le "
            "lire. Enregistrez-le dans LibreOffice sans mot de passe (Fichier > Enregistrer "
            "sous, case « Enregistrer avec mot de passe » décochée)"
        )


def damaged_part(name: str) -> PackageError:
    """A part whose compressed data does not decompress or whose CRC is wrong."""
    return PackageError(
        f"partie {name} endommagée (données compressées illisibles ou somme de contrôle "
        f"fausse) : {ADVICE}"
    )
