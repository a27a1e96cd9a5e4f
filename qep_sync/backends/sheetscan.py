"""Streaming passes over a workbook's worksheet and shared-strings parts.

python-calamine allocates the whole rectangle from A1 to a sheet's last cell, so a single
value in XFD1048576 asks for hundreds of gigabytes. Before calamine sees a sheet,
``scan_sheet`` reads its part once, streaming (expat: no tree is built, memory does not
grow with the sheet), and returns its real extent; it refuses, with one French reason
naming the part, what calamine would crash on or misread: a cell reference beyond Excel's
limits, XML that is not well-formed, absurd nesting, an unknown encoding, compressed data
that is damaged. ``read_sheet_rows`` is the reader used instead of calamine when the
rectangle is too big (``ooxml.MAX_CELLS``) or when calamine would misread the part or fail
on it (``SheetExtent.calamine_safe``): it types values exactly as calamine's
``to_python(skip_empty_area=False)`` does, with ragged rows, and holds only the cells
present. docs/contract.md §7 (hostile or broken input).
"""

from __future__ import annotations

import datetime as dt
import math
import re
import weakref
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any
from xml.parsers import expat

import numpy as np

from qep_sync import files
from qep_sync.backends.ooxml import (
    NS_PKG_REL,
    PackageError,
    damaged_part,
    is_date1904,
    parse_part,
    style_kinds,
)
from qep_sync.backends.zipparts import well_formed

MAX_ROWS = 1_048_576  # Excel's limits: row 1 048 576, column XFD
MAX_COLUMNS = 16_384
# Real worksheets nest about ten levels (extLst included); far deeper is hostile.
MAX_DEPTH = 100
CHUNK = 1 << 16
# Shared strings: the shortest entry, <si/>, takes 5 bytes, so a part cannot hold more
# than size/5 strings. calamine reserves 24 bytes per declared string before reading any:
# a count the part cannot hold is refused once it is large enough to cost memory (a small
# stale count from some producer costs nothing and is let through).
MIN_SHARED_STRING_BYTES = 5
TOLERATED_SHARED_COUNT = 10_000
# The error values calamine knows; on any other (#SPILL!, #CALC!) it fails the workbook.
CALAMINE_ERRORS = frozenset({"#DIV/0!", "#N/A", "#NAME?", "#NULL!", "#NUM!", "#REF!", "#VALUE!"})

_ROW = re.compile(r"[0-9]{1,7}")
# The numbers calamine (fast_float2) parses: no spaces, no underscores, inf and nan words.
_FLOAT = re.compile(
    r"[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|inf|infinity|nan)",
    re.IGNORECASE,
)
_PLAIN_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")


def _parse_float(text: str) -> float | None:
    """A number as calamine (fast_float2) reads it, None when it reads none.

    Python's float() also takes spaces, underscores and non-ASCII digits: only plain
    numbers (the usual case, tested first) and _FLOAT's syntax are given to it.
    """
    if _PLAIN_NUMBER.fullmatch(text) or _FLOAT.fullmatch(text):
        return float(text)
    return None


_DECLARED_ENCODING = re.compile(rb"""^<\?xml[^>]*?encoding\s*=\s*["']([^"']+)["']""")
_EMPTY = object()  # a cell calamine reads as empty (no value): it does not count

EXCEL_EPOCH = dt.datetime(1899, 12, 30)
MS_PER_DAY = 86_400_000
I64_MIN = -(2**63)
I64_MAX = 2**63 - 1


@dataclass(frozen=True)
class SheetExtent:
    """The real size of a worksheet, as its cells say (not its <dimension>).

    ``calamine_safe`` is False when calamine would misread the part (not UTF-8: calamine
    reads a UTF-16 sheet as empty) or fail on it: a date- or duration-styled number it
    cannot convert (it panics), an error value it does not know (#SPILL!, #CALC!), an
    <extLst> in a cell. Read such a sheet with ``read_sheet_rows``.
    """

    rows: int  # last row holding a cell (1-based), 0 when empty
    columns: int  # last column holding a cell (1-based), 0 when empty
    cells: int  # value cells seen
    calamine_safe: bool = True

    @property
    def rectangle(self) -> int:
        return self.rows * self.columns


# ---------------------------------------------------------------- streaming the XML


class _Nesting(Exception):
    pass


class _Handler:
    """What _stream feeds: expat's start, end and character-data events."""

    def start(self, name: str, attrs: dict[str, str]) -> None: ...
    def end(self, name: str) -> None: ...
    def data(self, text: str) -> None: ...


def _stream(zf: zipfile.ZipFile, part: str, handler: _Handler) -> None:
    """Feed ``part`` to expat, ``handler`` receiving the events; PackageError when it is bad."""
    parser = expat.ParserCreate()
    parser.buffer_text = True  # one data event per text, not one per chunk or entity
    parser.buffer_size = CHUNK
    parser.StartElementHandler = handler.start
    parser.EndElementHandler = handler.end
    parser.CharacterDataHandler = handler.data

    def refuse(*_: object) -> None:
        raise PackageError(
            f"contenu XML dangereux dans {part} (déclarations d'entités) : fichier refusé par "
            "sécurité"
        )

    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    try:
        with zf.open(part) as fh:
            try:
                while chunk := fh.read(CHUNK):
                    parser.Parse(chunk, False)
                parser.Parse(b"", True)
            except expat.ExpatError:
                # Damaged compressed data often decompresses to garbage before its CRC is
                # checked at the end: read on, so that the user hears the real cause.
                while fh.read(CHUNK):
                    pass
                raise
    except KeyError:
        raise PackageError(
            f"partie {part} absente du classeur : restaurez une version précédente ou "
            "réenregistrez-le depuis Excel"
        ) from None
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError):
        # zipfile's own words for a flipped bit: zlib.error, or BadZipFile (bad CRC-32).
        raise damaged_part(part) from None
    except _Nesting:
        raise PackageError(
            f"partie {part} refusée par sécurité : éléments XML imbriqués sur plus de "
            f"{MAX_DEPTH} niveaux ; réenregistrez le classeur depuis Excel"
        ) from None
    except expat.ExpatError as exc:
        raise _syntax_error(part, exc) from None
    except (LookupError, UnicodeError):
        # pyexpat looks a declared encoding up among Python's codecs: unknown, or not one
        # byte per character.
        raise PackageError(
            f"partie {part} illisible : encodage de caractères inconnu ; réenregistrez le "
            "classeur depuis Excel"
        ) from None
    except OSError as exc:
        raise PackageError(f"lecture de {part} impossible ({files.os_reason(exc)})") from None


_ENCODING_ERRORS = {
    expat.errors.codes[expat.errors.XML_ERROR_UNKNOWN_ENCODING],
    expat.errors.codes[expat.errors.XML_ERROR_INCORRECT_ENCODING],
}


_BAD_CHARACTER_REFERENCE = expat.errors.codes[expat.errors.XML_ERROR_BAD_CHAR_REF]


def _syntax_error(part: str, exc: expat.ExpatError) -> PackageError:
    if exc.code in _ENCODING_ERRORS:
        return PackageError(
            f"partie {part} illisible : encodage de caractères inconnu ou incorrect (ligne "
            f"{exc.lineno}) ; réenregistrez le classeur depuis Excel"
        )
    where = f"ligne {exc.lineno}, colonne {exc.offset + 1}"
    if exc.code == _BAD_CHARACTER_REFERENCE:
        # Some tools write &#1; and the like, which XML 1.0 forbids.
        return PackageError(
            f"partie {part} illisible : caractère de contrôle interdit en XML ({where}) ; "
            "ouvrez le classeur dans Excel et réenregistrez-le"
        )
    return PackageError(
        f"partie {part} illisible : XML mal formé {where} ; restaurez une version "
        "précédente du classeur ou réenregistrez-le depuis Excel"
    )


_LOCAL_NAMES: dict[str, str] = {}


def _local(name: str) -> str:
    """An element's name without its prefix (``x:c`` → ``c``), cached: it is asked per event."""
    local = _LOCAL_NAMES.get(name)
    if local is None:
        local = name.rpartition(":")[2]
        if len(_LOCAL_NAMES) < 1000:  # hostile files could invent names without end
            _LOCAL_NAMES[name] = local
    return local


# ---------------------------------------------------------------- shared strings


_SHARED_PART: weakref.WeakKeyDictionary[zipfile.ZipFile, str | None] = weakref.WeakKeyDictionary()


def _shared_strings_part(zf: zipfile.ZipFile) -> str | None:
    """The shared-strings part named by the workbook's relationships (xl/sharedStrings.xml),
    found once per open zip (every sheet's scan asks for it)."""
    if zf not in _SHARED_PART:
        _SHARED_PART[zf] = _find_shared_strings_part(zf)
    return _SHARED_PART[zf]


def _find_shared_strings_part(zf: zipfile.ZipFile) -> str | None:
    names = set(zf.namelist())
    if "xl/_rels/workbook.xml.rels" in names:
        rels = parse_part(zf, "xl/_rels/workbook.xml.rels")
        for rel in rels.iter(f"{{{NS_PKG_REL}}}Relationship"):
            if rel.get("Type", "").endswith("/sharedStrings"):
                target = rel.get("Target", "")
                name = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
                if name in names:
                    return name
    return "xl/sharedStrings.xml" if "xl/sharedStrings.xml" in names else None


_ESCAPE = re.compile(r"_x00([0-9A-Fa-f]{2})_")


def unescape_excel(text: str) -> str:
    """Decode Excel's ``_x00HH_`` escapes (a CR is stored as ``_x000D_``), as calamine does."""
    if "_x00" not in text:
        return text
    return _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)


class _StringItems(_Handler):
    """Collects the text of each <si> (or of one <is>) as calamine reads it.

    Text runs (<t>) are joined; phonetic runs (<rPh>) are skipped; a <t> without
    xml:space="preserve" loses its leading and trailing ASCII white space; Excel's
    ``_xHHHH_`` escapes are decoded. ``on_root`` sees the root's attributes first.
    """

    def __init__(
        self,
        item: str,
        on_item: Callable[[str], None],
        on_root: Callable[[dict[str, str]], None] | None = None,
    ) -> None:
        self.item, self.on_item, self.on_root = item, on_item, on_root
        self.depth = 0
        self.in_item = False
        self.phonetic = 0
        self.text: list[str] | None = None
        self.buffer: list[str] = []
        self.preserve = False

    def start(self, name: str, attrs: dict[str, str]) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise _Nesting
        local = _local(name)
        if self.depth == 1 and self.on_root is not None:
            self.on_root(attrs)
        if local == self.item:
            self.in_item, self.buffer = True, []
        elif self.in_item and local == "rPh":
            self.phonetic += 1
        elif self.in_item and local == "t" and not self.phonetic:
            self.text = []
            self.preserve = attrs.get("xml:space") == "preserve"

    def data(self, text: str) -> None:
        if self.text is not None:
            self.text.append(text)

    def end(self, name: str) -> None:
        self.depth -= 1
        local = _local(name)
        if local == "t" and self.text is not None:
            value = "".join(self.text)
            if not self.preserve:
                value = value.strip(" \t\r\n")
            self.buffer.append(unescape_excel(value))
            self.text = None
        elif local == "rPh" and self.phonetic:
            self.phonetic -= 1
        elif local == self.item and self.in_item:
            self.in_item = False
            self.on_item("".join(self.buffer))


def _count_checker(part: str, size: int) -> Callable[[dict[str, str]], None]:
    """Refuses, at the root of the part, a declared count the part could not hold."""

    def check(attrs: dict[str, str]) -> None:
        try:
            count = int(attrs.get("uniqueCount", ""))
        except ValueError:
            return  # calamine ignores a count it cannot read
        if count > max(size // MIN_SHARED_STRING_BYTES, TOLERATED_SHARED_COUNT):
            raise PackageError(
                f"partie {part} refusée par sécurité : elle annonce {count} textes partagés, "
                f"bien plus que ses {size} octets ne peuvent en contenir ; réenregistrez le "
                "classeur depuis Excel"
            )

    return check


_SHARED_CACHE: weakref.WeakKeyDictionary[zipfile.ZipFile, list[str]] = weakref.WeakKeyDictionary()


def shared_strings(zf: zipfile.ZipFile) -> list[str]:
    """The shared strings of the workbook, read once per open zip (streaming, then kept)."""
    if zf not in _SHARED_CACHE:
        part = _shared_strings_part(zf)
        items: list[str] = []
        if part is not None:
            check = _count_checker(part, zf.getinfo(part).file_size)
            _stream(zf, part, _StringItems("si", items.append, check))
        _SHARED_CACHE[zf] = items
    return _SHARED_CACHE[zf]


def scan_shared_strings(zf: zipfile.ZipFile) -> None:
    """Refuse a shared-strings part that is damaged or declares more strings than it could hold.

    The declared count (``uniqueCount``, for which calamine reserves memory before reading
    a string) is checked at the part's root, before any string is read; the whole part is
    then streamed once: bad XML, nesting, encoding or compressed data are refused as a
    sheet's are. The strings read are kept for ``scan_sheet`` and ``read_sheet_rows``. A
    plain part (UTF-8, no DTD, well-formed, a sane count) is only counted, in C.
    """
    if _quick_shared_count(zf) is None:
        shared_strings(zf)


_SHARED_COUNT: weakref.WeakKeyDictionary[zipfile.ZipFile, int] = weakref.WeakKeyDictionary()
_UNIQUE_COUNT = re.compile(rb'<sst\b[^>]*\buniqueCount="([0-9]+)"')


def _quick_shared_count(zf: zipfile.ZipFile) -> int | None:
    """How many shared strings a plain part holds, or None when the full pass must read it."""
    if zf in _SHARED_COUNT:
        return _SHARED_COUNT[zf]
    part = _shared_strings_part(zf)
    if part is None:
        _SHARED_COUNT[zf] = 0
        return 0
    try:
        size = zf.getinfo(part).file_size
        if size > QUICK_SCAN_BYTES or _not_utf8(zf, part):
            return None
        data = zf.read(part)
        if b"<!" in data or b":si" in data:
            return None
        expat.ParserCreate().Parse(data, True)
    except (KeyError, zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, OSError,
            expat.ExpatError, LookupError, UnicodeError, ValueError):  # fmt: skip
        return None  # the full pass says what is wrong, in French
    declared = _UNIQUE_COUNT.search(data)
    if declared and int(declared.group(1)) > max(size // MIN_SHARED_STRING_BYTES,
                                                 TOLERATED_SHARED_COUNT):  # fmt: skip
        return None  # refused by the full pass, in its words
    count = data.count(b"<si>") + data.count(b"<si ") + data.count(b"<si/>")
    _SHARED_COUNT[zf] = count
    return count


# ---------------------------------------------------------------- cell values


def _days_from_civil(year: int, month: int, day: int) -> int:
    """Days from 1970-01-01 of a proleptic Gregorian date, any year (H. Hinnant's algorithm)."""
    year -= month <= 2
    era = year // 400
    yoe = year - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    return era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468


# chrono's NaiveDate range (years -262143 to 262142) bounds calamine's conversions: a
# moment outside it is no time of day, the number stays (days from EXCEL_EPOCH).
_EPOCH_DAYS = _days_from_civil(1899, 12, 30)
CHRONO_MIN_DAYS = _days_from_civil(-262143, 1, 1) - _EPOCH_DAYS
CHRONO_MAX_DAYS = _days_from_civil(262142, 12, 31) - _EPOCH_DAYS


def _rust_round(value: float) -> float:
    # Rust's f64::round: halves away from zero.
    if not math.isfinite(value):
        return value
    return math.copysign(math.floor(abs(value) + 0.5), value)


def _saturate_i64(value: float) -> int:
    # Rust's `as i64`: NaN is 0, out-of-range values saturate.
    if math.isnan(value):
        return 0
    if value >= I64_MAX:
        return I64_MAX
    if value <= I64_MIN:
        return I64_MIN
    return int(value)


class _Panic(Exception):
    """calamine would panic converting this serial (chrono's duration out of bounds)."""


def _serial_ms(value: float, date1904: bool) -> int:
    """calamine's ExcelDateTime::as_datetime: milliseconds from 1899-12-30."""
    f = value + 1462.0 if date1904 else value
    if not f >= 60.0:
        f += 1.0  # Excel's fictitious 29/02/1900: serials below 60 are shifted by one day
    ms = _saturate_i64(_rust_round(f * MS_PER_DAY))
    if ms == I64_MIN:
        raise _Panic
    return ms


def _as_datetime(value: float, date1904: bool) -> dt.datetime | None:
    ms = _serial_ms(value, date1904)
    try:
        return EXCEL_EPOCH + dt.timedelta(milliseconds=ms)
    except OverflowError:
        return None  # beyond years 1–9999: python-calamine keeps the number


def _as_time(value: float, date1904: bool) -> dt.time | None:
    ms = _serial_ms(value, date1904)
    days, in_day = divmod(ms, MS_PER_DAY)
    if not CHRONO_MIN_DAYS <= days <= CHRONO_MAX_DAYS:
        return None
    return (dt.datetime.min + dt.timedelta(milliseconds=in_day)).time()


def date_value(value: float, kind: str, date1904: bool) -> Any:
    """A number shown with a date or duration format, as python-calamine's to_python gives it.

    A value calamine cannot convert stays a float; one it would panic on (a serial before
    about -1e14 days, -inf) also stays a float here: the caller sees an unreadable date.
    """
    try:
        if kind == "duration":
            ms = _saturate_i64(_rust_round(value * MS_PER_DAY))
            if ms == I64_MIN:
                raise _Panic
            return dt.timedelta(milliseconds=ms)  # OverflowError past a billion days
        if value < 1.0:
            converted: Any = _as_time(value, date1904)
        elif _integral(value):
            moment = _as_datetime(value, date1904)
            converted = moment.date() if moment is not None else None
        else:
            converted = _as_datetime(value, date1904)
    except (_Panic, OverflowError):
        return value
    return value if converted is None else converted


def _integral(value: float) -> bool:
    # python-calamine's test `v == (v as u64) as f64`: a whole number of days is a date.
    return math.isfinite(value) and value == float(min(int(value), 2**64 - 1))


def calamine_fails(value: float, kind: str, date1904: bool) -> bool:
    """Whether calamine cannot give ``value`` shown with a ``kind`` format at all.

    It panics (pyo3_runtime.PanicException, not an Exception) on a serial whose
    milliseconds overflow (before about -1.07e11 days, -inf) and raises OverflowError on
    an elapsed time beyond Python's timedelta (a billion days).
    """
    try:
        if kind == "duration":
            ms = _saturate_i64(_rust_round(value * MS_PER_DAY))
            if ms == I64_MIN:
                return True
            dt.timedelta(milliseconds=ms)
        elif kind == "date":
            _serial_ms(value, date1904)
    except (_Panic, OverflowError):
        return True
    return False


_ISO_DATE = r"[+-]?[0-9]{4}-[0-9]{2}-[0-9]{2}"
_ISO_TIME = r"[0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?"
_ISO_SECONDS = r"[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?"


def _iso_value(text: str) -> Any:
    """A ``t="d"`` cell (ISO 8601), as python-calamine gives it; the text when unreadable.

    chrono's formats: a date-time needs its seconds and no zone, a time may stop at minutes.
    """
    try:
        if "T" in text:
            if re.fullmatch(f"{_ISO_DATE}T{_ISO_SECONDS}", text):
                return dt.datetime.fromisoformat(text.removeprefix("+"))
        elif ":" in text:
            if re.fullmatch(_ISO_TIME, text):
                return dt.time.fromisoformat(text)
        elif re.fullmatch(_ISO_DATE, text):
            return dt.date.fromisoformat(text.removeprefix("+"))
    except ValueError:
        pass
    return text


# ---------------------------------------------------------------- the worksheet walker


def _bad_reference(part: str, ref: str) -> PackageError:
    return PackageError(
        f"référence de cellule « {ref[:40]} » invalide dans {part} (Excel s'arrête à la "
        "colonne XFD et à la ligne 1 048 576) : fichier endommagé, restaurez une version "
        "précédente ou réenregistrez-le depuis Excel"
    )


_COLUMN_OF: dict[str, int] = {}


def _column_of(letters: str) -> int | None:
    """0-based column of Excel letters (A → 0), None beyond XFD; cached, asked per cell."""
    col = _COLUMN_OF.get(letters)
    if col is None:
        if not (0 < len(letters) <= 3 and letters.isascii() and letters.isalpha()):
            return None
        n = 0
        for ch in letters.upper():
            n = n * 26 + ord(ch) - 64
        if n > MAX_COLUMNS:
            return None
        col = _COLUMN_OF[letters] = n - 1  # at most 2 × 16 384 keys (upper and lower case)
    return col


def _ref(part: str, ref: str) -> tuple[int, int]:
    """(0-based row, 0-based column) of an A1 reference; PackageError beyond Excel's limits."""
    digits = ref.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
    col = _column_of(ref[: len(ref) - len(digits)])
    if col is None or not (digits.isascii() and digits.isdigit() and len(digits) <= 7):
        raise _bad_reference(part, ref)
    row = int(digits)
    if not 1 <= row <= MAX_ROWS:
        raise _bad_reference(part, ref)
    return row - 1, col


def _row_number(part: str, text: str) -> int:
    if _ROW.fullmatch(text) and 1 <= int(text) <= MAX_ROWS:
        return int(text) - 1
    raise PackageError(
        f"numéro de ligne « {text[:40]} » invalide dans {part} (Excel s'arrête à la ligne "
        "1 048 576) : fichier endommagé, restaurez une version précédente ou réenregistrez-le "
        "depuis Excel"
    )


def _a1(row: int, col: int) -> str:
    letters, n = "", col + 1
    while n:
        n, rem = divmod(n - 1, 26)
        letters = chr(65 + rem) + letters
    return f"{letters}{row + 1}"


class _Sheet(_Handler):
    """Walks a worksheet's cells with calamine's positions and values.

    Positions: a <row r> sets the row, its end moves to the next; a <c r> sets row and
    column, a <c> without r takes the next column. A cell's value is given by its last
    child element (<v>, <is>; an <f> alone leaves it empty), typed by its ``t`` and, for
    numbers, by the kind of its style's number format. With ``convert`` False (the scan)
    dates are only checked, not built.
    """

    def __init__(
        self,
        part: str,
        kinds: tuple[str, ...],
        date1904: bool,
        strings: list[str],
        on_cell: Callable[[int, int, Any], None],
        convert: bool,
    ) -> None:
        self.part, self.kinds, self.date1904, self.strings = part, kinds, date1904, strings
        self.on_cell, self.convert = on_cell, convert
        self.depth = 0
        self.row = self.col = 0
        self.in_data = False
        self.cell_depth = 0  # depth of the <c> being read, 0 outside cells
        self.s: str | None = None
        self.t: str | None = None
        self.value: Any = _EMPTY
        self.has_formula = False
        self.text: list[str] | None = None  # the text of the <v> being read (a list: a
        # huge text arrives in many pieces, and joining once keeps that linear)
        self.inline: _StringItems | None = None
        self.inline_text: list[str] = []
        self.formula_extent = (0, 0)  # (rows, columns) reached by formula-only cells
        self.unsafe = False

    # -- events (called for every element: kept short, unprefixed names tested first)

    def start(self, name: str, attrs: dict[str, str]) -> None:
        depth = self.depth = self.depth + 1
        if depth > MAX_DEPTH:
            raise _Nesting
        if self.cell_depth:
            if self.inline is not None:
                self.inline.start(name, attrs)
            elif depth == self.cell_depth + 1:
                self._child_start(_local(name), name, attrs)
            return
        local = name if ":" not in name else _local(name)
        if local == "c":
            if self.in_data:
                self._cell_start(attrs)
        elif local == "row":
            r = attrs.get("r")
            if self.in_data and r is not None:
                self.row = _row_number(self.part, r)
        elif local == "sheetData":
            self.in_data = True
        elif local == "col":
            self._check_col(attrs)

    def data(self, text: str) -> None:
        if self.text is not None:
            self.text.append(text)
        elif self.inline is not None:
            self.inline.data(text)

    def end(self, name: str) -> None:
        depth = self.depth
        self.depth = depth - 1
        if self.cell_depth:
            if depth == self.cell_depth:
                self._cell_end()
            elif self.inline is not None:
                self.inline.end(name)
                if depth == self.cell_depth + 1:
                    self.inline = None
                    self.value = self.inline_text[0] if self.inline_text else _EMPTY
            elif depth == self.cell_depth + 1:
                self._child_end(name if ":" not in name else _local(name))
            return
        if self.in_data and (name == "row" or _local(name) == "row"):
            self.row += 1
            self.col = 0
        elif _local(name) == "sheetData":
            self.in_data = False

    # -- cells

    def _check_col(self, attrs: dict[str, str]) -> None:
        for key in ("min", "max"):
            value = attrs.get(key)
            if value is not None and not (value.isdigit() and 1 <= int(value) <= MAX_COLUMNS):
                raise PackageError(
                    f"largeurs de colonnes illisibles dans {self.part} ({key}=« {value[:40]} » "
                    f"au lieu d'un numéro de colonne de 1 à {MAX_COLUMNS}) : réenregistrez le "
                    "classeur depuis Excel"
                )

    def _cell_start(self, attrs: dict[str, str]) -> None:
        r = attrs.get("r")
        if r is not None:
            self.row, self.col = _ref(self.part, r)
        elif self.col >= MAX_COLUMNS or self.row >= MAX_ROWS:
            raise PackageError(
                f"{self.part} : cellule au-delà des limites d'Excel (colonne XFD, ligne "
                "1 048 576) ; fichier endommagé, restaurez une version précédente ou "
                "réenregistrez-le depuis Excel"
            )
        self.s, self.t = attrs.get("s"), attrs.get("t")
        self.cell_depth = self.depth
        self.value = _EMPTY
        self.has_formula = False

    def _child_start(self, local: str, name: str, attrs: dict[str, str]) -> None:
        if local == "v":
            self.text = []
        elif local == "is":
            self.inline_text = []
            self.inline = _StringItems("is", self.inline_text.append)
            self.inline.start(name, attrs)
        elif local == "f":
            self.has_formula = True
        else:
            self.unsafe = True  # an <extLst>: no value, but calamine fails on it

    def _child_end(self, local: str) -> None:
        if local == "v":
            text = "".join(self.text) if self.text else ""
            self.text = None
            self.value = self._v_value(text)
        elif local == "f":
            self.value = _EMPTY  # calamine: a child read after the value replaces it

    def _cell_end(self) -> None:
        row, col = self.row, self.col
        if self.value is not _EMPTY:
            self.on_cell(row, col, self.value)
        elif self.has_formula:
            rows, columns = self.formula_extent
            self.formula_extent = (max(rows, row + 1), max(columns, col + 1))
        self.cell_depth = 0
        self.inline = None
        self.text = None
        self.col = col + 1

    def _kind(self) -> str:
        s = self.s
        if s is None:
            return "other"
        index = int(s) if s.isdigit() else 0  # calamine reads an unreadable style as 0
        return self.kinds[index] if index < len(self.kinds) else "other"

    def _v_value(self, text: str) -> Any:
        t = self.t
        if t is None or t == "n":
            return self._number(text)
        if t == "s":
            return self._shared(text)
        if t == "str":
            return text
        if t in ("inlineStr", "is"):
            return _EMPTY  # calamine ignores <v> of an inline string: the text is in <is>
        if t == "b":
            return self._boolean(text)
        if t == "e":
            if text == "":
                return _EMPTY
            if text not in CALAMINE_ERRORS:
                self.unsafe = True
            return ""  # calamine gives errors (#N/A…) as ""
        if t == "d":
            return _iso_value(text)
        raise PackageError(
            f"type de cellule « {t[:20]} » inconnu en {self._where()} de {self.part} : "
            "restaurez une version précédente ou réenregistrez le classeur depuis Excel"
        )

    def _boolean(self, text: str) -> Any:
        word = text.strip().lower()
        if word == "":
            return _EMPTY
        if word in ("1", "true", "0", "false"):
            return word in ("1", "true")
        raise PackageError(
            f"valeur booléenne « {text[:20]} » illisible en {self._where()} de {self.part} : "
            "restaurez une version précédente ou réenregistrez le classeur depuis Excel"
        )

    def _shared(self, text: str) -> Any:
        if text == "":
            return _EMPTY
        index = int(text) if text.isdigit() else 0  # as calamine: unreadable is the first
        if index >= len(self.strings):
            raise PackageError(
                f"texte partagé n° {index} introuvable (cellule {self._where()} de {self.part})"
                " : classeur endommagé, restaurez une version précédente ou réenregistrez-le "
                "depuis Excel"
            )
        return self.strings[index]

    def _number(self, text: str) -> Any:
        if text == "":
            return _EMPTY
        value = _parse_float(text)
        if value is None:
            if self.t is None:
                return text  # no declared type: calamine keeps the text
            raise PackageError(
                f"nombre illisible « {text[:40]} » en {self._where()} de {self.part} : "
                "restaurez une version précédente ou réenregistrez le classeur depuis Excel"
            )
        if self.s is None:
            return value
        kind = self._kind()
        if kind == "other":
            return value
        if calamine_fails(value, kind, self.date1904):
            self.unsafe = True
        return date_value(value, kind, self.date1904) if self.convert else value

    def _where(self) -> str:
        return _a1(self.row, self.col)


# ---------------------------------------------------------------- the public passes


def _not_utf8(zf: zipfile.ZipFile, part: str | None) -> bool:
    """Whether a part is in an encoding other than UTF-8 (calamine reads only UTF-8)."""
    if part is None:
        return False
    try:
        with zf.open(part) as fh:
            head = fh.read(256)
    except (KeyError, zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, OSError):
        return False  # the streaming pass reports it in its own words
    return _head_not_utf8(head)


def _head_not_utf8(data: bytes) -> bool:
    """Whether a part whose bytes begin with ``data`` is in an encoding other than UTF-8."""
    head = data[:256]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or head[:2] in (b"<\x00", b"\x00<"):
        return True
    declared = _DECLARED_ENCODING.match(head.removeprefix(b"\xef\xbb\xbf"))
    if declared is None:
        return False
    name = declared.group(1).decode("ascii", "replace").lower().replace("_", "-")
    return name not in ("utf-8", "utf8", "us-ascii", "ascii")


_STYLE_CACHE: weakref.WeakKeyDictionary[zipfile.ZipFile, tuple[tuple[str, ...], bool]] = (
    weakref.WeakKeyDictionary()
)


def _workbook_styles(zf: zipfile.ZipFile) -> tuple[tuple[str, ...], bool]:
    """The number kind of every cell style and the date system, read once per open zip."""
    if zf not in _STYLE_CACHE:
        _STYLE_CACHE[zf] = (style_kinds(zf), is_date1904(zf))
    return _STYLE_CACHE[zf]


def scan_sheet(zf: zipfile.ZipFile, part: str, xml: bytes | None = None) -> SheetExtent:
    """The real extent of a worksheet part, streaming; PackageError (French) when it is bad.

    Counts the cells calamine would place (a value, a formula's cached value); a formula
    without a cached value also extends the extent, so the rectangle is never under-counted.
    The shared strings are read (and kept on ``zf``) to check the references to them.
    A plain sheet, as spreadsheet applications write them, is proved safe by the C parts of
    the standard library (``_quick_scan``, several times faster); any other takes the full
    pass. ``xml``: the part's bytes when the caller has read them (``part_bytes``).
    """
    quick = _quick_scan(zf, part, xml)
    return quick if quick is not None else _full_scan(zf, part)


# A plain sheet: UTF-8, no DTD, well-formed (expat, in C, with no handler), only the
# elements of cells and rich text inside <sheetData>, every cell and row with its reference
# first (as Excel, LibreOffice and the usual libraries write it), every type attribute
# written plainly, every value a plain number (a number, a shared-string index in range, a
# boolean 0/1) small enough for any date, no formula string or error result. Its extent is
# the full pass's. Each test is one search for what breaks it, in C, not a list per cell.
# Its part is held whole in memory, as calamine holds it anyway: 64 MB, a sheet of 130,000
# letters with its owned columns (at 16 MB, 50,000 letters once synced took the streaming
# pass, several times slower).
QUICK_SCAN_BYTES = 64 << 20
SHEET_DATA_TAGS = frozenset(
    b"row c v f is t r rPr rPh phoneticPr b i u strike sz color rFont family charset scheme "
    b"vertAlign outline shadow condense extend".split()
)


def _at_least(n: int) -> bytes:
    """A pattern for the decimal numbers of no leading zero that are ``n`` (≥ 1) or more."""
    digits = str(n)
    more = [f"[1-9][0-9]{{{len(digits)},}}", digits]
    for i, digit in enumerate(digits):
        if digit != "9":
            more.append(f"{digits[:i]}[{int(digit) + 1}-9][0-9]{{{len(digits) - i - 1}}}")
    return "|".join(more).encode()


# What may follow a « < » of a plain <sheetData>, the usual ones first (each is tried in turn).
_USUAL_FIRST = sorted(SHEET_DATA_TAGS, key=lambda name: (name not in (b"c", b"v", b"row"), name))
_FOREIGN = rb"(?=[A-Za-z_])(?!(?:" + b"|".join(_USUAL_FIRST) + rb")(?![\w.-]))"
_UNREFERENCED_CELL = rb"c(?=[\s/>])"  # what is left of a cell once a plain start is skipped
_ODD_ROW = (
    rb'row(?=[\s/>])(?! r="0*[1-9][0-9]{0,6}")|row r="0*(?:' + _at_least(MAX_ROWS + 1) + b')"'
)
_ODD_VALUE_TAG = rb"v(?=[\s/])"
_NOT_PLAIN = rb"v>(?!-?[0-9]{1,9}(?:\.[0-9]+)?(?:[eE]-[0-9]{1,3})?</v>)"
# A tag outside SHEET_DATA_TAGS, a cell or row not referenced first (or beyond the last row),
# a <v> with attributes or holding what is not a plain number, in one search: the usual
# starts (a closing tag, a referenced cell, a whole number) are skipped at once.
_ODD_TAG = re.compile(
    rb'<(?!/|c r="[A-Z]{1,3}[0-9]{1,7}"|v>[0-9]{1,9}</v>)(?:'
    + b"|".join((_UNREFERENCED_CELL, _NOT_PLAIN, _ODD_VALUE_TAG, _ODD_ROW, _FOREIGN))
    + b")"
)
# Patterns begin with a literal and look behind after it: the literal is searched fast.
_ODD_TYPE = re.compile(rb't(?<=\st)(?!="(?:s|n|b|inlineStr)")\s*=')
_ODD_BOOLEAN = re.compile(rb't="b"(?<=\st="b")[^>]*>(?!<v>[01]<)')
_SHARED_CELL = re.compile(rb't="s"(?<=\st="s")')


@cache
def _odd_shared_index(count: int) -> re.Pattern[bytes]:
    """A shared-string cell whose value is not at once an index below ``count`` (≥ 1)."""
    return re.compile(
        rb't="s"(?<=\st="s")[^>]*>(?:(?!<v>[0-9]+<)|<v>0*(?:' + _at_least(count) + rb")<)"
    )


def part_bytes(zf: zipfile.ZipFile, part: str) -> bytes | None:
    """A worksheet part's bytes for the quick pass, or None when it is too big to hold whole
    or does not read (the full pass, streaming, says what is wrong, in French)."""
    try:
        if zf.getinfo(part).file_size > QUICK_SCAN_BYTES:
            return None
        return zf.read(part)  # the CRC is checked here
    except (KeyError, zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, OSError):
        return None


def _quick_scan(zf: zipfile.ZipFile, part: str, xml: bytes | None = None) -> SheetExtent | None:
    """The extent of a plain sheet, or None when the full streaming pass must decide."""
    data = part_bytes(zf, part) if xml is None else xml
    if data is None or b"<!" in data or _head_not_utf8(data):
        return None
    if _not_utf8(zf, _shared_strings_part(zf)) or not well_formed(data):
        return None
    start, end = data.find(b"<sheetData>"), data.rfind(b"</sheetData>")
    if start < 0 or end < start:
        return None  # an empty <sheetData/>, a prefixed one: the full pass
    cells = Span(data, start + len(b"<sheetData>"), end)  # searched in place, not copied
    if not (_plain_cells(cells) and _strings_in_range(zf, cells)):
        return None
    return _quick_extent(cells)


@dataclass(frozen=True, slots=True)
class Span:
    """A stretch of a part's bytes (the content of its <sheetData>), from ``start`` to
    ``end``: searched and read in place, never copied."""

    data: bytes
    start: int
    end: int

    def search(self, pattern: re.Pattern[bytes]) -> bool:
        return pattern.search(self.data, self.start, self.end) is not None

    def count(self, text: bytes) -> int:
        return self.data.count(text, self.start, self.end)

    def array(self) -> np.ndarray:
        """The span as an array of bytes: a view, not a copy."""
        return np.frombuffer(self.data, dtype=np.uint8)[self.start : self.end]

    def chunks(self) -> Iterator[np.ndarray]:
        """The span as arrays of about ``_CHUNK`` bytes (views), each ending before a « < »:
        a tag is never cut, its « > » coming before the next « < »."""
        buf = np.frombuffer(self.data, dtype=np.uint8)
        for at, stop in self.cuts():
            yield buf[self.start + at : self.start + stop]

    def cuts(self) -> Iterator[tuple[int, int]]:
        """Where ``chunks`` cut the span: (start, stop) of each, from the span's start."""
        at = self.start
        while at < self.end:
            stop = self.data.find(b"<", min(at + _CHUNK, self.end), self.end)
            stop = self.end if stop < 0 else stop
            yield at - self.start, stop - self.start
            at = stop


_CHUNK = 1 << 20  # what the reference arithmetic holds at once: a few MB, whatever the sheet


def _plain_cells(cells: Span) -> bool:
    """Only the elements of cells and rich text, every cell and row referenced first, plain
    types, plain numbers, booleans 0 or 1."""
    return not (cells.search(_ODD_TAG) or cells.search(_ODD_TYPE) or cells.search(_ODD_BOOLEAN))


def _strings_in_range(zf: zipfile.ZipFile, cells: Span) -> bool:
    """Every shared-string cell holds an index of one of the workbook's shared strings."""
    if not cells.search(_SHARED_CELL):
        return True
    count = _quick_shared_count(zf)
    if count is None:
        count = len(shared_strings(zf))
    return count > 0 and not cells.search(_odd_shared_index(count))


def _quick_extent(cells: Span) -> SheetExtent | None:
    """The extent of a plain sheet's cells: the cells with a value or a formula (a cell with
    only a style, self-closed, places nothing); None for a reference beyond Excel's limits
    or on row 0, which the full pass refuses in its words."""
    last_row = last_column = 0
    for chunk in cells.chunks():
        rows, columns, placed = _cell_references(chunk)
        if rows.size and (rows.min() < 1 or rows.max() > MAX_ROWS or columns.max() > MAX_COLUMNS):
            return None
        last_row = max(last_row, int(rows[placed].max(initial=0)))
        last_column = max(last_column, int(columns[placed].max(initial=0)))
    values = cells.count(b"<v>") + cells.count(b"<is>") - cells.count(b"<v></v>")
    return SheetExtent(last_row, last_column if last_row else 0, values)


_A, _ZERO = ord("A"), ord("0")


def cell_tags(buf: np.ndarray) -> np.ndarray:
    """The offsets of every « <c » followed by a space in ``buf``, looked for ``_CHUNK``
    bytes at a time: what is held is a chunk's flags, never an array of the buffer's size."""
    found = [np.zeros(0, dtype=np.int64)]
    for at in range(0, buf.size, _CHUNK):
        part = buf[at : at + _CHUNK + 2]  # 2 more: a tag across the cut is seen once, whole
        starts = part[:-2] == ord("<")
        starts &= part[1:-1] == ord("c")
        starts &= part[2:] == ord(" ")
        found.append(np.flatnonzero(starts) + at)
    return np.concatenate(found)


def cell_references(buf: np.ndarray, tags: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The 1-based column and the row number of the cells whose tags, « <c r="A1" » (1 to 3
    letters, 1 to 7 digits), start at offsets ``tags`` of ``buf``; in arrays, not per cell.
    A read never goes past the buffer's last byte."""
    at = tags + len(b'<c r="')
    last = buf.size - 1
    columns = np.zeros(tags.size, dtype=np.int64)
    for _ in range(3):
        letter = buf[np.minimum(at, last)].astype(np.int64) - _A
        is_letter = (letter >= 0) & (letter < 26)  # once not, the same byte is read again
        columns = np.where(is_letter, columns * 26 + letter + 1, columns)
        at = at + is_letter
    rows = np.zeros(tags.size, dtype=np.int64)
    for _ in range(7):
        digit = buf[np.minimum(at, last)].astype(np.int64) - _ZERO
        is_digit = (digit >= 0) & (digit < 10)
        rows = np.where(is_digit, rows * 10 + digit, rows)
        at = at + is_digit
    return columns, rows


def _cell_references(buf: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row, 1-based column, not self-closed) of every cell of a chunk of a plain sheet's
    <sheetData>, computed in arrays, not per cell: there every cell tag opens with
    ``<c r="A1"`` (1 to 3 letters, 1 to 7 digits), which _ODD_TAG proved."""
    tags = cell_tags(buf)
    columns, rows = cell_references(buf, tags)
    slash = buf[:-1] == ord("/")
    slash &= buf[1:] == ord(">")
    if not slash.any():
        return rows, columns, np.ones(tags.size, dtype=bool)
    closes = np.flatnonzero(buf == ord(">"))
    ends = closes[np.searchsorted(closes, tags)]  # the > that ends each tag
    return rows, columns, buf[ends - 1] != ord("/")


def _full_scan(zf: zipfile.ZipFile, part: str) -> SheetExtent:
    """The streaming pass: every cell seen and typed, every oddity refused or flagged."""
    rows = columns = cells = 0

    def on_cell(row: int, col: int, _value: Any) -> None:
        nonlocal rows, columns, cells
        cells += 1
        if row >= rows:
            rows = row + 1
        if col >= columns:
            columns = col + 1

    kinds, date1904 = _workbook_styles(zf)
    walker = _Sheet(part, kinds, date1904, shared_strings(zf), on_cell, False)
    _stream(zf, part, walker)
    rows = max(rows, walker.formula_extent[0])
    columns = max(columns, walker.formula_extent[1])
    if rows == 0 or columns == 0:
        rows = columns = 0
    misread = _not_utf8(zf, part) or _not_utf8(zf, _shared_strings_part(zf))
    return SheetExtent(rows, columns, cells, not (walker.unsafe or misread))


def read_sheet_rows(
    zf: zipfile.ZipFile, part: str, *, date_styles: frozenset[int], date1904: bool
) -> list[list[Any]]:
    """The values of a worksheet, streaming, typed as calamine's to_python gives them.

    Rows are ragged: each row's list ends at its last value, the list of rows at the last
    row holding one; an empty cell before a value is ``""``, as in calamine. Numbers are
    floats, dates ``date``/``datetime``/``time``, elapsed times ``timedelta``, errors ``""``;
    a date calamine cannot convert (it would panic) stays the float. Memory: the cells
    present plus one list per row. ``date_styles`` (ooxml.date_styles) says which styles
    are dates; elapsed-time styles are read from styles.xml.
    """
    kinds = tuple(
        "date" if i in date_styles else ("duration" if kind == "duration" else "other")
        for i, kind in enumerate(_workbook_styles(zf)[0])
    )
    rows: list[list[Any]] = []

    def on_cell(row: int, col: int, value: Any) -> None:
        if len(rows) <= row:
            rows.extend([] for _ in range(row + 1 - len(rows)))
        cells = rows[row]
        if col < len(cells):
            cells[col] = value  # a repeated reference: the later cell wins, as in calamine
            return
        if col > len(cells):
            cells.extend([""] * (col - len(cells)))
        cells.append(value)

    _stream(zf, part, _Sheet(part, kinds, date1904, shared_strings(zf), on_cell, True))
    return rows
