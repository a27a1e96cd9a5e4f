"""The zip of a workbook file (.xlsx, .xlsm, .ods): what both file backends check in it
before anything reads it, and how a rewritten one copies the entries it does not change.

Checks (``check_entries``): no entry inflates to more than ``MAX_RATIO`` times its size
(a zip bomb), no zip-level encryption, no DTD or entity declaration in an XML part (XML
bombs, XXE: ``check_prolog``), and at most ``MAX_TOTAL_UNCOMPRESSED`` bytes in all. What
a kind of workbook calls itself in messages (« réenregistrez-le depuis Excel » or « depuis
LibreOffice ») is the caller's: the messages here are the same for every kind.

Copies (``copy_raw``): an entry's compressed bytes go into the new zip as they are (same
bytes, CRC and timestamps), once they are known to decompress to what the central
directory's CRC says, so that a damaged part is never carried into a rewritten file.
``check_written`` reads the new file back before it may replace the old one.
"""

from __future__ import annotations

import copy
import hashlib
import logging
import struct
import zipfile
import zlib
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from xml.parsers import expat

from lxml import etree

from qep_sync import files
from qep_sync.core.contract import SkippedWrite
from qep_sync.errors import WriteBackError

# The deflate level of rewritten parts, chosen by measurement on a 2.9 MB patched « Délais »
# sheet: level 6 takes 59 ms for 363 KB, level 3 32 ms for 416 KB, level 1 20 ms for 481 KB.
# Level 3 halves the time of the largest step of a write for 15 % more on disk.
COMPRESS_LEVEL = 3
# Parts whose well-formedness is remembered (by digest, 137 bytes each): a sync reads every
# source before it writes any, so the write finds its parts proved only if the whole
# workspace's are remembered (at 1,024, a workspace of 300 services, 1,800 sheets, had its
# parts parsed again at write: 6 % of that sync). 65,536: 9 MB at most, 11,000 services.
WELL_FORMED_REMEMBERED = 1 << 16
MAX_TOTAL_UNCOMPRESSED = 1 << 30  # 1 GiB: far above any real tracker workbook
MAX_RATIO = 200  # compression ratio above which a large part is a zip bomb
BIG_ENTRY = 16 << 20  # below this, any ratio is harmless
PROLOG_LIMIT = 65536
CHUNK = 1 << 20  # decompressed bytes at a time when checking a CRC: bounded memory

_log = logging.getLogger(__name__)


class PackageError(Exception):
    """The file cannot be opened as a workbook; the message is French."""


class Damaged(Exception):
    """An entry of the zip does not decompress to what its CRC says."""

    def __init__(self, part: str) -> None:
        self.part = part
        super().__init__(part)


class BadOutput(Exception):
    """A written zip does not read back: it never replaces the workbook."""


class _RootReached(Exception):
    pass


def check_prolog(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
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


def check_entries(
    zf: zipfile.ZipFile, xml_suffixes: tuple[str, ...], damaged: Callable[[str], PackageError]
) -> None:
    """Refuse a zip bomb, an encrypted zip or an XML part with declarations; PackageError.

    ``xml_suffixes`` name the XML parts whose prolog is checked; ``damaged(name)`` is the
    kind's message for an entry whose compressed data does not decompress.
    """
    total = 0
    for info in zf.infolist():
        total += info.file_size
        big = info.file_size > BIG_ENTRY
        if big and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise PackageError(
                f"archive anormale ({info.filename} trop compressé) : fichier refusé par sécurité"
            )
        if info.flag_bits & 0x1:
            raise PackageError("archive chiffrée : enregistrez le classeur sans mot de passe")
        if info.filename.endswith(xml_suffixes):
            try:
                check_prolog(zf, info)
            except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
                raise damaged(info.filename) from exc
    if total > MAX_TOTAL_UNCOMPRESSED:
        raise PackageError(
            f"archive anormale ({total >> 20} Mo une fois décompressée) : fichier refusé par sécurité"
        )


# ---------------------------------------------------------------- writing a new zip


def copy_raw(zin: zipfile.ZipFile, zout: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
    """Copy an entry's compressed bytes as they are (no recompression, byte-identical), once
    they are known to decompress to what the central directory's CRC says."""
    fp = zin.fp
    assert fp is not None and zout.fp is not None
    fp.seek(info.header_offset)
    header = fp.read(30)
    if len(header) < 30 or header[:4] != b"PK\x03\x04":
        _log.debug("%s: no local header at offset %d", info.filename, info.header_offset)
        raise Damaged(info.filename)
    name_len, extra_len = struct.unpack("<HH", header[26:30])
    fp.seek(info.header_offset + 30 + name_len + extra_len)
    raw = fp.read(info.compress_size)
    _verify(zin, info, raw)
    new = copy.copy(info)
    new.flag_bits &= ~0x08  # sizes go in the local header, no data descriptor
    new.extra = b""
    new.header_offset = zout.fp.tell()
    zout.fp.write(new.FileHeader(zip64=False))
    zout.fp.write(raw)
    zout.filelist.append(new)
    zout.NameToInfo[new.filename] = new
    zout.start_dir = zout.fp.tell()


def _verify(zin: zipfile.ZipFile, info: zipfile.ZipInfo, raw: bytes) -> None:
    """Damaged unless ``raw`` decompresses to ``info.file_size`` bytes of CRC ``info.CRC``."""
    try:
        crc, size = _crc_of(zin, info, raw)
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        _log.debug("%s: does not decompress: %r", info.filename, exc)
        raise Damaged(info.filename) from None
    if len(raw) != info.compress_size or (crc, size) != (info.CRC, info.file_size):
        _log.debug("%s: CRC %08x size %d, directory says %08x size %d", info.filename, crc,
                   size, info.CRC, info.file_size)  # fmt: skip
        raise Damaged(info.filename)


def _crc_of(zin: zipfile.ZipFile, info: zipfile.ZipInfo, raw: bytes) -> tuple[int, int]:
    """(CRC-32, size) of an entry's decompressed bytes, decompressed a chunk at a time."""
    if info.compress_type == zipfile.ZIP_STORED:
        return zlib.crc32(raw), len(raw)
    if info.compress_type == zipfile.ZIP_DEFLATED:
        inflater = zlib.decompressobj(-zlib.MAX_WBITS)
        crc = size = 0
        data = raw
        while data:
            out = inflater.decompress(data, CHUNK)
            crc, size = zlib.crc32(out, crc), size + len(out)
            data = inflater.unconsumed_tail
        out = inflater.flush()
        crc, size = zlib.crc32(out, crc), size + len(out)
        if not inflater.eof:
            raise EOFError("deflate stream cut short")
        return crc, size
    # Other methods (bzip2, lzma: no spreadsheet application writes them): zipfile reads the
    # entry again and checks its CRC itself, raising BadZipFile on a mismatch.
    with zin.open(info) as fh:
        size = 0
        while chunk := fh.read(CHUNK):
            size += len(chunk)
    return info.CRC, size


def check_written(target: Path) -> None:
    """BadOutput unless the zip just written reads back, every entry matching its CRC."""
    try:
        with zipfile.ZipFile(target) as written:
            bad = written.testzip()
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        _log.debug("%s: written file unreadable: %r", target, exc)
        raise BadOutput() from None
    if bad is not None:
        _log.debug("%s: written entry %s fails its CRC", target, bad)
        raise BadOutput()


# What every write-back may meet, whatever the format: the file's place, its package, the disk.
WRITE_FAILURES = (files.NotReplaced, PackageError, Damaged, BadOutput, OSError,
                  zipfile.BadZipFile, zlib.error, EOFError, ValueError, etree.LxmlError)  # fmt: skip


def write_failure(exc: BaseException, path: Path, app: str) -> Exception:
    """The French error (SkippedWrite or WriteBackError) of a failure in WRITE_FAILURES while
    writing ``path`` back; ``app`` (Excel, LibreOffice) is the one that can re-save it."""
    name = path.name
    resave = f"Ouvrez-le dans {app} et enregistrez-le, il sera mis à jour au prochain passage"
    if isinstance(exc, files.NotReplaced):
        return SkippedWrite(
            f"classeur {exc.reason} : non modifié, nouvel essai au prochain passage"
        )
    if isinstance(exc, PackageError):
        return WriteBackError(f"{name} : {exc}")
    if isinstance(exc, Damaged):
        return WriteBackError(f"{name} : partie {exc.part} abîmée dans le classeur : non modifié. "
                              f"Restaurez une version précédente du fichier, ou ouvrez-le dans "
                              f"{app} et enregistrez-le")  # fmt: skip
    if isinstance(exc, BadOutput):
        return WriteBackError(f"{name} : écriture impossible (le fichier écrit ne se relit pas) : "
                              "classeur non modifié, nouvel essai au prochain passage")  # fmt: skip
    if isinstance(exc, OSError):
        _log.debug("%s: system error while writing back: %r", path, exc)
        return WriteBackError(
            f"{name} : écriture impossible ({files.os_reason(exc)}) : classeur non modifié"
        )
    _log.debug("%s: unexpected content while writing back: %r", path, exc)
    return WriteBackError(f"{name} : écriture impossible (contenu du classeur inattendu) : "
                          f"classeur non modifié. {resave}")  # fmt: skip


_WELL_FORMED: OrderedDict[bytes, None] = OrderedDict()  # digests of parts expat parsed


def well_formed(xml: bytes) -> bool:
    """Whether expat parses ``xml`` to its end (no handler: C speed). Remembered by the
    content's digest (the last ``WELL_FORMED_REMEMBERED``): a sync's read and its write ask
    it of the same parts, and a digest costs a tenth of a parse."""
    digest = hashlib.blake2b(xml, digest_size=16).digest()
    if digest in _WELL_FORMED:
        _WELL_FORMED.move_to_end(digest)
        return True
    try:
        expat.ParserCreate().Parse(xml, True)
    except (expat.ExpatError, LookupError, UnicodeError, ValueError):
        return False
    _WELL_FORMED[digest] = None
    if len(_WELL_FORMED) > WELL_FORMED_REMEMBERED:
        _WELL_FORMED.popitem(last=False)
    return True
