"""A local, in-memory server that answers like the Google Sheets API v4 (and its OAuth endpoint).

Tests start it, point a client at it and look at what the client did::

    with SheetsServer() as server:                       # 127.0.0.1, a free port
        server.add_spreadsheet("sheet-key", "Suivi", {"Délais": [["N°", "Date"], ["A1", date]]})
        ...                                              # a client talks to server.url
        assert server.counts["valuesBatchUpdate"] == 1
        assert server.values("sheet-key", "Délais")[1][0] == "A1"

What it answers (paths as on Google's hosts, all on one local port):

- ``POST /token``: the service-account JWT-bearer grant. The JWT is decoded, its RS256 signature
  checked against the public key registered for its ``iss`` (``register_key``), its ``aud``
  (Google's token URL or this server's) and lifetime checked; the answer is Google's
  ``{"access_token", "expires_in": 3599, "token_type": "Bearer"}``. Every API call then needs
  ``Authorization: Bearer <token>`` (401 UNAUTHENTICATED otherwise) with a scope that allows it
  (403 "Request had insufficient authentication scopes.").
- ``GET /v4/spreadsheets/{id}`` (metadata; ``fields`` masks, ``ranges``, ``includeGridData``
  with rowData/userEnteredFormat/note), ``POST /v4/spreadsheets/{id}:batchUpdate`` (addSheet,
  deleteSheet, updateSheetProperties, updateSpreadsheetProperties, appendDimension,
  insertDimension, deleteDimension, updateDimensionProperties, updateCells, repeatCell,
  mergeCells, unmergeCells, setDataValidation (stored, not enforced), autoResizeDimensions
  (no-op); applied atomically), ``values:batchGet``, ``values:batchUpdate``,
  ``values:batchClear``, ``GET|PUT values/{range}``, ``POST values/{range}:clear``.
- ``/drive/v3/files``: create a spreadsheet (POST), delete (DELETE), and ``GET
  /drive/v3/files/{id}`` (``files.get``: kind, id, name, mimeType, createdTime, modifiedTime,
  ``fields`` honoured, as ``fields=modifiedTime`` gives ``{"modifiedTime": "...Z"}``), enough
  for gspread's ``Client.create`` and ``Spreadsheet.get_lastUpdateTime``. Drive errors have
  Drive's shape (an ``errors`` list with ``domain`` and ``reason``): 404 ``notFound`` for an
  unknown file or one not shared with the account, 403 ``insufficientPermissions`` without a
  Drive scope (``drive.metadata.readonly`` is enough to read), 403 ``accessNotConfigured`` for
  every Drive call when ``drive_enabled`` is False (the API not enabled in the project).
  A spreadsheet's modifiedTime is set to ``clock()`` (UTC now unless a test replaces it) by
  every change: API writes (values and spreadsheets batchUpdate, clears...) and the
  people-editing helpers below; ``set_modified`` sets it as a person's edit in the browser
  would, ``modified_time`` reads it.
- Any other request kind answers 501 UNIMPLEMENTED; unknown paths answer Google's HTML 404.

Cells hold Python values: ``str``, ``int``/``float``, ``bool``, a formula ``{"formula": "=..."}``
(plain arithmetic is evaluated, anything else reads as ``#NAME?`` unless the dict also has a
cached ``"value"``), and ``datetime.date``/``datetime`` given by tests become serial numbers
(1899-12-30 epoch) with a DATE/DATE_TIME number format, as Sheets stores them. Reads follow
Google's conventions: trailing empty cells and rows dropped, ``""`` for empty cells inside a
row, ``[]`` for empty rows inside the range, no ``values`` key when nothing is there, numbers as
JSON numbers (integral values without ``.0``), FORMATTED_VALUE rendered with the spreadsheet's
locale (``fr_FR``: ``0,12``, ``dd/mm/yyyy``, ``VRAI``). Ranges are checked against the grid:
a bounded range past the last row or column is a 400 "exceeds grid limits", so a client must
add rows or columns (appendDimension) before writing there.

Faults: ``fail_next(kind_or_regex, status, times=1, retry_after=None, body=None, delay=None)``;
people editing meanwhile: ``insert_rows``, ``delete_rows``, ``sort_rows``, ``set_cell``... called
directly, or from ``on_request(kind, callback)`` just before a given request is served.
"""

from __future__ import annotations

import ast
import base64
import contextlib
import copy
import datetime as dt
import json
import operator
import random
import re
import secrets
import socket
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple
from urllib.parse import parse_qs, unquote, urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

GOOGLE_TOKEN_URL = "https://oauth2.googleapis.com/token"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
SCOPE = "https://www.googleapis.com/auth/"
SHEETS_RW = {SCOPE + "spreadsheets", SCOPE + "drive", SCOPE + "drive.file"}
SHEETS_RO = SHEETS_RW | {SCOPE + "spreadsheets.readonly", SCOPE + "drive.readonly"}
DRIVE_RW = {SCOPE + "drive", SCOPE + "drive.file"}
DRIVE_RO = DRIVE_RW | {SCOPE + "drive.readonly", SCOPE + "drive.metadata.readonly"}
SPREADSHEET_MIME = "application/vnd.google-apps.spreadsheet"

#: Request kinds, for counters, hooks and faults.
KINDS = (
    "token",
    "metadata",
    "batchUpdate",
    "batchGet",
    "valuesBatchUpdate",
    "valuesBatchClear",
    "valuesGet",
    "valuesUpdate",
    "valuesClear",
    "valuesAppend",
    "drive",
    "unknown",
)
READ_KINDS = {"metadata", "batchGet", "valuesGet"}

EPOCH = dt.datetime(1899, 12, 30)
DEFAULT_ROWS, DEFAULT_COLS = 1000, 26
MAX_BODY = 20 * 1024 * 1024

STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
STATUS_MESSAGES = {
    400: "Request contains an invalid argument.",
    401: "Request had invalid authentication credentials. Expected OAuth 2 access token, login "
    "cookie or other valid authentication credential. See "
    "https://developers.google.com/identity/sign-in/web/devconsole-project.",
    403: "The caller does not have permission",
    404: "Requested entity was not found.",
    409: "The operation was aborted.",
    500: "Internal error encountered.",
    501: "Operation is not implemented, or supported, or enabled.",
    503: "The service is currently unavailable.",
    504: "The service is currently unavailable.",
}
MISSING_CREDENTIALS = (
    "Request is missing required authentication credential. Expected OAuth 2 access token, "
    "login cookie or other valid authentication credential. See "
    "https://developers.google.com/identity/sign-in/web/devconsole-project."
)
HTML_404 = (
    "<!DOCTYPE html>\n<html lang=en>\n  <meta charset=utf-8>\n  <title>Error 404 (Not Found)!!1"
    "</title>\n  <p><b>404.</b> <ins>That’s an error.</ins>\n  <p>The requested URL <code>{path}"
    "</code> was not found on this server.  <ins>That’s all we know.</ins>\n"
)
HTML_502 = (
    "<!DOCTYPE html>\n<html lang=en>\n  <meta charset=utf-8>\n  <title>Error 502 (Server Error)"
    "!!1</title>\n  <p><b>502.</b> <ins>That’s an error.</ins>\n  <p>The server encountered a "
    "temporary error and could not complete your request.<p>Please try again in 30 seconds.  "
    "<ins>That’s all we know.</ins>\n"
)

# What a new spreadsheet's properties hold besides title, locale and time zone (as recorded).
_WHITE = {"red": 1, "green": 1, "blue": 1}
DEFAULT_FORMAT = {
    "backgroundColor": _WHITE,
    "padding": {"top": 2, "right": 3, "bottom": 2, "left": 3},
    "verticalAlignment": "BOTTOM",
    "wrapStrategy": "OVERFLOW_CELL",
    "textFormat": {
        "foregroundColor": {},
        "fontFamily": "arial,sans,sans-serif",
        "fontSize": 10,
        "bold": False,
        "italic": False,
        "strikethrough": False,
        "underline": False,
        "foregroundColorStyle": {"rgbColor": {}},
    },
    "backgroundColorStyle": {"rgbColor": _WHITE},
}
_THEME_COLORS = [
    ("TEXT", {}),
    ("BACKGROUND", _WHITE),
    ("ACCENT1", {"red": 0.25882354, "green": 0.52156866, "blue": 0.95686275}),
    ("ACCENT2", {"red": 0.91764706, "green": 0.2627451, "blue": 0.20784314}),
    ("ACCENT3", {"red": 0.9843137, "green": 0.7372549, "blue": 0.015686275}),
    ("ACCENT4", {"red": 0.20392157, "green": 0.65882355, "blue": 0.3254902}),
    ("ACCENT5", {"red": 1, "green": 0.42745098, "blue": 0.003921569}),
    ("ACCENT6", {"red": 0.27450982, "green": 0.7411765, "blue": 0.7764706}),
    ("LINK", {"red": 0.06666667, "green": 0.33333334, "blue": 0.8}),
]
SPREADSHEET_THEME = {
    "primaryFontFamily": "Arial",
    "themeColors": [{"colorType": t, "color": {"rgbColor": c}} for t, c in _THEME_COLORS],
}


class ApiError(Exception):
    """An error answer in Google's format (raised inside request handling).

    ``errors``: Drive's per-error list (``domain``, ``reason``...); ``status``: whether the answer
    names the canonical status (Sheets and Google's front end do; Drive's own errors do not).
    """

    def __init__(
        self,
        code: int,
        message: str | None = None,
        *,
        details: list[Any] | None = None,
        errors: list[dict[str, Any]] | None = None,
        status: bool = True,
    ):
        super().__init__(message)
        self.code = code
        self.message = message if message is not None else STATUS_MESSAGES.get(code, "Error")
        self.details = details
        self.errors = errors
        self.status = status


#: Drive's ``reason`` for an error status, when nothing more precise is known.
DRIVE_REASONS = {400: "badRequest", 401: "authError", 403: "forbidden", 404: "notFound",
                 429: "rateLimitExceeded", 500: "backendError", 502: "backendError",
                 503: "backendError", 504: "backendError"}  # fmt: skip


def drive_error(
    code: int,
    message: str | None = None,
    *,
    reason: str | None = None,
    domain: str = "global",
    item_message: str | None = None,
    location: tuple[str, str] | None = None,
    status: bool = False,
    details: list[Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> ApiError:
    """An error as Drive v3 answers it: ``{"error": {"code", "message", "errors": [{"message",
    "domain", "reason"[, "location", "locationType"]}]}}`` (Google's "Resolve errors" guide)."""
    text = message if message is not None else STATUS_MESSAGES.get(code, "Error")
    item: dict[str, Any] = {"message": item_message or text, "domain": domain,
                            "reason": reason or DRIVE_REASONS.get(code, "backendError")}  # fmt: skip
    if location:
        item["location"], item["locationType"] = location
    item.update(extra or {})
    return ApiError(code, text, details=details, errors=[item], status=status)


class LoggedRequest(NamedTuple):
    """One request as received: path percent-decoded, query parsed, body parsed when JSON/form."""

    method: str
    path: str
    query: dict[str, list[str]]
    body: Any


@dataclass
class Fault:
    """A planned failure (see ``SheetsServer.fail_next``); ``remaining`` counts down to 0."""

    match: str
    status: int | None
    remaining: int
    retry_after: float | str | None = None
    body: Any = None
    delay: float | None = None
    headers: dict[str, str] = field(default_factory=dict)
    fired: int = 0


@dataclass
class Hook:
    """A callback run just before matching requests are served (see ``on_request``)."""

    match: str
    callback: Callable[[LoggedRequest], Any]
    remaining: int | None
    calls: int = 0


@dataclass
class CellInfo:
    """A copy of one stored cell: value (Python), userEnteredFormat, note, data validation."""

    value: Any
    format: dict[str, Any]
    note: str | None
    validation: dict[str, Any] | None


# ---------------------------------------------------------------- state


@dataclass
class _Cell:
    value: Any = None  # None | str | int | float | bool | {"formula": str[, "value": Any]}
    fmt: dict[str, Any] = field(default_factory=dict)
    note: str | None = None
    validation: dict[str, Any] | None = None

    def empty(self) -> bool:
        return self.value is None and not self.fmt and not self.note and not self.validation


@dataclass
class _Sheet:
    sheet_id: int
    title: str
    row_count: int
    col_count: int
    frozen_rows: int = 0
    frozen_cols: int = 0
    hidden: bool = False
    tab_color: dict[str, Any] | None = None
    cells: dict[tuple[int, int], _Cell] = field(default_factory=dict)
    sizes: tuple[dict[int, int], dict[int, int]] = field(default_factory=lambda: ({}, {}))
    merges: list[list[int]] = field(default_factory=list)  # [r0, r1, c0, c1]

    def dims(self) -> tuple[int, int]:
        return self.row_count, self.col_count


@dataclass
class _Book:
    spreadsheet_id: str
    title: str
    locale: str
    time_zone: str
    sheets: list[_Sheet]
    access: str = "writer"  # "writer" | "reader" | "none"
    created: str = ""
    modified: str = ""
    auto_recalc: str = "ON_CHANGE"


@dataclass
class _Token:
    email: str
    scopes: set[str]
    expires: float


@dataclass
class _Range:
    sheet: _Sheet
    r0: int | None
    r1: int | None  # exclusive
    c0: int | None
    c1: int | None  # exclusive
    text: str  # as given
    anchor: bool = True  # a single cell or a whole sheet: writes may extend from its start

    def bounds(self) -> tuple[int, int, int, int]:
        """Start and end indexes, open ends clipped to the grid."""
        rows, cols = self.sheet.dims()
        r0 = self.r0 or 0
        c0 = self.c0 or 0
        r1 = rows if self.r1 is None else self.r1
        c1 = cols if self.c1 is None else self.c1
        return r0, max(r0, r1), c0, max(c0, c1)


# ---------------------------------------------------------------- A1 notation


def column_letter(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def column_index(letters: str) -> int:
    """A -> 0, AA -> 26."""
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n - 1


_CELL = re.compile(r"^([A-Za-z]{1,3})(\d+)$")
_PLAIN_TITLE = re.compile(r"^[^\W\d]\w*$")
_CELLISH = re.compile(r"^([A-Za-z]{1,3}\d+|[Rr]\d+[Cc]\d+)$")
_REF = re.compile(r"^\$?([A-Za-z]{1,3})?\$?(\d+)?$")


def parse_cell(a1: str) -> tuple[int, int]:
    """'B3' -> (2, 1): zero-based row and column."""
    m = _CELL.match(a1.replace("$", ""))
    if not m or int(m.group(2)) < 1:
        raise ValueError(f"not a cell reference: {a1!r}")
    return int(m.group(2)) - 1, column_index(m.group(1))


def quote_title(title: str) -> str:
    """A sheet title as Google writes it in a range: Sheet1, 'Plan d''actions'.

    Titles of letters, digits and underscores (not starting with a digit, not looking like a
    cell) stay bare, others are quoted. Google's exact rule for accented titles (« Délais »)
    is not in the recorded traffic: clients must accept both forms.
    """
    if _PLAIN_TITLE.match(title) and not _CELLISH.match(title):
        return title
    return "'" + title.replace("'", "''") + "'"


def a1_rect(r0: int, r1: int, c0: int, c1: int) -> str:
    """Zero-based [r0, r1) x [c0, c1) -> 'A1:B2' ('A1' for one cell)."""
    start = f"{column_letter(c0)}{r0 + 1}"
    if r1 - r0 <= 1 and c1 - c0 <= 1:
        return start
    return f"{start}:{column_letter(max(c0, c1 - 1))}{max(r0, r1 - 1) + 1}"


def _split_range(text: str) -> tuple[str | None, str | None]:
    """'Sheet'!A1:B2 -> (title, a1); a quoted title alone (t, None); no '!' (None, text)."""
    s = text.strip()
    if s.startswith("'"):
        i, title = 1, []
        while i < len(s):
            if s[i] == "'":
                if i + 1 < len(s) and s[i + 1] == "'":
                    title.append("'")
                    i += 2
                    continue
                break
            title.append(s[i])
            i += 1
        else:
            raise ValueError("unterminated quote")
        rest = s[i + 1 :]
        if not rest:
            return "".join(title), None
        if not rest.startswith("!") or len(rest) == 1:
            raise ValueError("bad range")
        return "".join(title), rest[1:]
    if "!" in s:
        title, _, a1 = s.rpartition("!")
        if not title or not a1:
            raise ValueError("bad range")
        return title, a1
    return None, s


def _parse_a1(a1: str) -> tuple[int | None, int | None, int | None, int | None]:
    """'A1:B2' -> (r0, r1, c0, c1), None for an open end."""
    parts = a1.split(":")
    if len(parts) > 2 or not all(parts):
        raise ValueError("bad A1")
    refs = []
    for part in parts:
        m = _REF.match(part.strip())
        if not m or not (m.group(1) or m.group(2)):
            raise ValueError("bad A1")
        col = column_index(m.group(1)) if m.group(1) else None
        row = int(m.group(2)) - 1 if m.group(2) else None
        if row is not None and row < 0:
            raise ValueError("bad A1")
        refs.append((row, col))
    if len(refs) == 1:
        row, col = refs[0]
        if row is None or col is None:
            raise ValueError("a single reference must be a cell")
        return row, row + 1, col, col + 1
    (ra, ca), (rb, cb) = refs
    if ra is not None and rb is not None:
        ra, rb = min(ra, rb), max(ra, rb)
    if ca is not None and cb is not None:
        ca, cb = min(ca, cb), max(ca, cb)
    r0 = ra if ra is not None else 0
    r1 = rb + 1 if rb is not None else None
    c0 = ca if ca is not None else 0
    c1 = cb + 1 if cb is not None else None
    if ra is None and rb is not None and ca is not None and cb is not None:
        r0 = 0
    return r0, r1, c0, c1


# ---------------------------------------------------------------- values


def _num(x: Any) -> Any:
    """Numbers as Google's JSON has them: 2 rather than 2.0."""
    if isinstance(x, float) and x.is_integer() and abs(x) < 2**53:
        return int(x)
    return x


def to_serial(value: dt.date | dt.datetime) -> int | float:
    """A date (or datetime) as a Sheets serial number (days since 1899-12-30)."""
    if isinstance(value, dt.datetime):
        delta = value.replace(tzinfo=None) - EPOCH
        return _num(delta.days + delta.seconds / 86400 + delta.microseconds / 86400e6)
    return (value - EPOCH.date()).days


def from_serial(serial: float) -> dt.datetime:
    """A serial number as a datetime (second precision)."""
    return EPOCH + dt.timedelta(seconds=round(serial * 86400))


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


_COMMA_DECIMAL = {"fr", "de", "es", "it", "pt", "nl", "ru", "pl", "sv", "da", "nb", "fi", "cs"}
_BOOL_WORDS = {
    "fr": ("VRAI", "FAUX"),
    "de": ("WAHR", "FALSCH"),
    "es": ("VERDADERO", "FALSO"),
    "it": ("VERO", "FALSO"),
}
_MONTHS = {
    "en": "January February March April May June July August September October November December",
    "fr": "janvier février mars avril mai juin juillet août septembre octobre novembre décembre",
}
_DAYS = {
    "en": "Monday Tuesday Wednesday Thursday Friday Saturday Sunday",
    "fr": "lundi mardi mercredi jeudi vendredi samedi dimanche",
}


def _lang(locale: str) -> str:
    return locale.split("_")[0].lower()


def default_pattern(kind: str, locale: str) -> str:
    """The date/time pattern Sheets shows by default for a locale."""
    if locale == "en_US":
        return {"DATE": "m/d/yyyy", "DATE_TIME": "m/d/yyyy h:mm:ss", "TIME": "h:mm:ss am/pm"}[kind]
    lang = _lang(locale)
    if lang in ("fr", "es", "it", "pt", "en"):
        day = "dd/mm/yyyy"
    elif lang in ("de", "ru", "pl", "fi", "cs", "nb", "da"):
        day = "dd.mm.yyyy"
    else:
        day = "yyyy-mm-dd"
    return {"DATE": day, "DATE_TIME": day + " hh:mm:ss", "TIME": "hh:mm:ss"}[kind]


_DATE_TOKEN = re.compile(
    r'"[^"]*"|\\.|yyyy|yy|mmmmm|mmmm|mmm|mm|m|dddd|ddd|dd|d|hh|h|ss|s|am/pm|a/p|.', re.IGNORECASE
)


def format_date(serial: float, pattern: str, locale: str) -> str:
    """Render a serial number with a Sheets date/time pattern (common tokens only)."""
    when = from_serial(serial)
    lang = "fr" if _lang(locale) == "fr" else "en"
    tokens = _DATE_TOKEN.findall(pattern)
    alpha = [(i, t.lower()) for i, t in enumerate(tokens) if t[:1].isalpha()]
    twelve = any(t in ("am/pm", "a/p") for _, t in alpha)
    out = []
    for i, tok in enumerate(tokens):
        low = tok.lower()
        if low in ("m", "mm"):
            before = [t for j, t in alpha if j < i]
            after = [t for j, t in alpha if j > i]
            minutes = (before and before[-1] in ("h", "hh")) or (after and after[0] in ("s", "ss"))
            if minutes:
                out.append(f"{when.minute:02d}" if low == "mm" else str(when.minute))
            else:
                out.append(f"{when.month:02d}" if low == "mm" else str(when.month))
        elif low in ("mmm", "mmmm", "mmmmm"):
            name = _MONTHS[lang].split()[when.month - 1]
            out.append({"mmm": name[:3], "mmmm": name, "mmmmm": name[:1]}[low])
        elif low == "yyyy":
            out.append(f"{when.year:04d}")
        elif low == "yy":
            out.append(f"{when.year % 100:02d}")
        elif low in ("d", "dd"):
            out.append(f"{when.day:02d}" if low == "dd" else str(when.day))
        elif low in ("ddd", "dddd"):
            name = _DAYS[lang].split()[when.weekday()]
            out.append(name[:3] if low == "ddd" else name)
        elif low in ("h", "hh"):
            hour = when.hour % 12 or 12 if twelve else when.hour
            out.append(f"{hour:02d}" if low == "hh" else str(hour))
        elif low in ("s", "ss"):
            out.append(f"{when.second:02d}" if low == "ss" else str(when.second))
        elif low in ("am/pm", "a/p"):
            text = "AM" if when.hour < 12 else "PM"
            out.append(text if low == "am/pm" else text[0])
        elif tok.startswith('"'):
            out.append(tok[1:-1])
        elif tok.startswith("\\"):
            out.append(tok[1:])
        else:
            out.append(tok)
    return "".join(out)


def _localise_number(text: str, locale: str) -> str:
    lang = _lang(locale)
    if lang not in _COMMA_DECIMAL:
        return text
    group = "\u202f" if lang == "fr" else "."
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", group)


def _general(x: float) -> str:
    if float(x).is_integer() and abs(x) < 1e15:
        return str(int(x))
    text = f"{x:.10f}".rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"


def format_number(x: float, number_format: dict[str, Any], locale: str) -> str:
    """Render a number with a Sheets number format (decimals, grouping, percent) or as General."""
    pattern = number_format.get("pattern") or {
        "PERCENT": "0.00%",
        "NUMBER": "#,##0.00",
        "SCIENTIFIC": "",
    }.get(number_format.get("type", ""), "")
    if not pattern or pattern.lower() == "general":
        return _localise_number(_general(x), locale)
    section = re.sub(r'"[^"]*"|\\.', "", pattern.split(";")[0])
    percent = "%" in section
    value = x * 100 if percent else x
    whole, _, frac = section.partition(".")
    decimals = sum(1 for ch in frac if ch in "0#?")
    grouping = "," in whole
    text = f"{abs(value):,.{decimals}f}" if grouping else f"{abs(value):.{decimals}f}"
    if "#" in frac and "." in text:
        text = text.rstrip("0").rstrip(".")
    sign = "-" if value < 0 and float(text.replace(",", "") or 0) != 0 else ""
    return sign + _localise_number(text, locale) + ("%" if percent else "")


def _date_kind(cell: _Cell) -> str | None:
    kind = cell.fmt.get("numberFormat", {}).get("type")
    return kind if kind in ("DATE", "DATE_TIME", "TIME") else None


class _FormulaError(str):
    """An error value such as #NAME? (rendered as its text)."""


_OPS: dict[type, Callable[..., Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
    ast.USub: operator.neg,
    ast.UAdd: operator.pos,
}


def _arith(node: ast.AST) -> float:
    if isinstance(node, ast.Expression):
        return _arith(node.body)
    if isinstance(node, ast.Constant) and _is_number(node.value):
        return node.value
    if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
        left, right = _arith(node.left), _arith(node.right)
        if isinstance(node.op, ast.Pow) and abs(right) > 100:
            raise ValueError("exponent too large")
        return _OPS[type(node.op)](left, right)
    if isinstance(node, ast.UnaryOp) and type(node.op) in _OPS:
        return _OPS[type(node.op)](_arith(node.operand))
    raise ValueError("unsupported formula")


def evaluate(formula: dict[str, Any]) -> Any:
    """A formula's value: its cached ``value``, plain arithmetic, or #NAME?/#DIV/0!."""
    if "value" in formula:
        return formula["value"]
    expr = str(formula.get("formula", ""))[1:].strip()
    if len(expr) > 200:
        return _FormulaError("#NAME?")
    try:
        return _num(_arith(ast.parse(expr.replace("^", "**"), mode="eval")))
    except ZeroDivisionError:
        return _FormulaError("#DIV/0!")
    except (ValueError, SyntaxError, TypeError, OverflowError, RecursionError):
        return _FormulaError("#NAME?")


def render(cell: _Cell | None, value_render: str, date_render: str, locale: str) -> Any:
    """A cell as values.get returns it ("" when empty)."""
    if cell is None or cell.value is None:
        return ""
    value = cell.value
    if isinstance(value, dict):
        if value_render == "FORMULA":
            return value.get("formula", "")
        value = evaluate(value)
    if isinstance(value, _FormulaError):
        return str(value)
    if isinstance(value, bool):
        if value_render == "FORMATTED_VALUE":
            words = _BOOL_WORDS.get(_lang(locale), ("TRUE", "FALSE"))
            return words[0] if value else words[1]
        return value
    if _is_number(value):
        kind = _date_kind(cell)
        number_format = cell.fmt.get("numberFormat", {})
        if kind:
            if value_render == "FORMATTED_VALUE" or date_render == "FORMATTED_STRING":
                pattern = number_format.get("pattern") or default_pattern(kind, locale)
                return format_date(value, pattern, locale)
            return _num(value)
        if value_render == "FORMATTED_VALUE":
            return format_number(value, number_format, locale)
        return _num(value)
    return value


def _extended(value: Any) -> dict[str, Any]:
    if isinstance(value, _FormulaError):
        return {"errorValue": {"type": "ERROR", "message": str(value)}}
    if isinstance(value, dict):
        return {"formulaValue": value.get("formula", "")}
    if isinstance(value, bool):
        return {"boolValue": value}
    if _is_number(value):
        return {"numberValue": _num(value)}
    return {"stringValue": str(value)}


_NUMBER_EN = re.compile(r"^[+-]?(\d+|\d{1,3}(,\d{3})+)?(\.\d+)?$")
_NUMBER_COMMA = re.compile(r"^[+-]?(\d+|\d{1,3}([ \u00a0\u202f]\d{3})+)?(,\d+)?$")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$")
_SLASH_DATE = re.compile(r"^(\d{1,2})[/.](\d{1,2})[/.](\d{4})(?: (\d{1,2}):(\d{2})(?::(\d{2}))?)?$")


def _parse_number(text: str, locale: str) -> float | None:
    comma = _lang(locale) in _COMMA_DECIMAL
    pattern = _NUMBER_COMMA if comma else _NUMBER_EN
    if not re.search(r"\d", text) or not pattern.match(text):
        return None
    clean = re.sub(r"[ \u00a0\u202f]", "", text) if comma else text.replace(",", "")
    return _num(float(clean.replace(",", ".")))


def _parse_date(text: str, locale: str) -> tuple[dt.datetime, str, bool] | None:
    m = _ISO_DATE.match(text)
    iso = bool(m)
    if m:
        year, month, day = int(m.group(1)), int(m.group(2)), int(m.group(3))
    else:
        m = _SLASH_DATE.match(text)
        if not m:
            return None
        a, b, year = int(m.group(1)), int(m.group(2)), int(m.group(3))
        month, day = (a, b) if locale == "en_US" else (b, a)
    try:
        when = dt.datetime(year, month, day, int(m.group(4) or 0), int(m.group(5) or 0))
        when = when.replace(second=int(m.group(6) or 0))
    except ValueError:
        return None
    has_time = m.group(4) is not None
    if iso:
        pattern = "yyyy-mm-dd hh:mm:ss" if has_time else "yyyy-mm-dd"
    else:
        pattern = default_pattern("DATE_TIME" if has_time else "DATE", locale)
    return when, pattern, has_time


def user_entered(value: Any, cell: _Cell, locale: str) -> Any:
    """Store a value as typed by a user (USER_ENTERED): formulas, numbers, dates, booleans."""
    if not isinstance(value, str):
        return value
    if value == "":
        return None
    if value.startswith("=") and len(value) > 1:
        return {"formula": value}
    if value.startswith("'"):
        return value[1:] or None
    stripped = value.strip()
    words = _BOOL_WORDS.get(_lang(locale), ("TRUE", "FALSE"))
    if stripped.upper() in (words[0], "TRUE"):
        return True
    if stripped.upper() in (words[1], "FALSE"):
        return False
    if stripped.endswith("%"):
        number = _parse_number(stripped[:-1].strip(), locale)
        if number is not None:
            if "numberFormat" not in cell.fmt:
                cell.fmt["numberFormat"] = {"type": "PERCENT", "pattern": "0%"}
            return _num(number / 100)
    number = _parse_number(stripped, locale)
    if number is not None:
        return number
    parsed = _parse_date(stripped, locale)
    if parsed:
        when, pattern, has_time = parsed
        if not _date_kind(cell):
            kind = "DATE_TIME" if has_time else "DATE"
            cell.fmt["numberFormat"] = {"type": kind, "pattern": pattern}
        return to_serial(when if has_time else when.date())
    return value


def _python_value(value: Any, cell: _Cell, locale: str) -> Any:
    """A value given by a test (date, number, text...) as stored; dates get a date format."""
    if isinstance(value, dt.datetime | dt.date):
        kind = "DATE_TIME" if isinstance(value, dt.datetime) else "DATE"
        if not _date_kind(cell):
            cell.fmt["numberFormat"] = {"type": kind, "pattern": default_pattern(kind, locale)}
        return to_serial(value)
    if value == "":
        return None
    if isinstance(value, dict):
        if "formula" not in value:
            raise ValueError(f"a dict cell value must be a formula: {value!r}")
        return dict(value)
    if value is None or isinstance(value, str | bool) or _is_number(value):
        return value
    raise TypeError(f"unsupported cell value {value!r}")


def _as_python(cell: _Cell) -> Any:
    value = cell.value
    if isinstance(value, dict):
        return dict(value)
    kind = _date_kind(cell)
    if kind and _is_number(value):
        when = from_serial(value)
        if kind == "DATE" and when.time() == dt.time(0):
            return when.date()
        return when
    return value


# ---------------------------------------------------------------- field masks


def parse_mask(text: str) -> dict[str, Any] | None:
    """'a.b,c(d,e/f)' -> {'a': {'b': None}, 'c': {'d': None, 'e': {'f': None}}}; '*' -> None."""
    text = text.replace(" ", "")
    if text in ("", "*"):
        return None
    pos = 0

    def merge(tree: dict[str, Any], path: list[str], sub: dict[str, Any] | None) -> None:
        node = tree
        for name in path[:-1]:
            if name in node and node[name] is None:
                return
            node = node.setdefault(name, {})
        last = path[-1]
        if sub is None or (last in node and node[last] is None):
            node[last] = None
            return
        existing = node.setdefault(last, {})
        for key, value in sub.items():
            merge(existing, [key], value)

    def parse_list() -> dict[str, Any]:
        nonlocal pos
        tree: dict[str, Any] = {}
        while True:
            start = pos
            while pos < len(text) and text[pos] not in ",()":
                pos += 1
            path = [p for p in re.split(r"[./]", text[start:pos]) if p]
            if not path:
                raise ValueError(f"Invalid field selection {text}")
            sub = None
            if pos < len(text) and text[pos] == "(":
                pos += 1
                sub = parse_list()
                if pos >= len(text) or text[pos] != ")":
                    raise ValueError(f"Invalid field selection {text}")
                pos += 1
            merge(tree, path, sub)
            if pos < len(text) and text[pos] == ",":
                pos += 1
                continue
            return tree

    tree = parse_list()
    if pos != len(text):
        raise ValueError(f"Invalid field selection {text}")
    return tree


def mask_read(obj: Any, tree: dict[str, Any] | None) -> Any:
    """Keep only the masked fields of a response."""
    if tree is None or "*" in tree:
        return obj
    if isinstance(obj, list):
        return [mask_read(x, tree) for x in obj]
    if isinstance(obj, dict):
        return {k: mask_read(obj[k], sub) for k, sub in tree.items() if k in obj}
    return obj


def mask_write(target: dict[str, Any], source: dict[str, Any], tree: dict[str, Any] | None) -> None:
    """Copy the masked fields from source to target; masked fields absent from source are cleared."""
    if tree is None or "*" in tree:
        target.clear()
        target.update(copy.deepcopy(source))
        return
    for key, sub in tree.items():
        if sub is None:
            if key in source:
                target[key] = copy.deepcopy(source[key])
            else:
                target.pop(key, None)
            continue
        inner = target.get(key)
        inner = inner if isinstance(inner, dict) else {}
        given = source.get(key)
        mask_write(inner, given if isinstance(given, dict) else {}, sub)
        if inner:
            target[key] = inner
        else:
            target.pop(key, None)


def _touches(tree: dict[str, Any] | None, path: tuple[str, ...]) -> bool:
    node = tree
    for name in path:
        if node is None or "*" in node:
            return True
        if name not in node:
            return False
        node = node[name]
    return True


def _clean_color(color: Any) -> Any:
    if not isinstance(color, dict):
        return color
    return {k: _num(v) for k, v in color.items() if v not in (0, 0.0)}


_COLOR_PAIRS = [
    ((), "backgroundColor", "backgroundColorStyle"),
    (("textFormat",), "foregroundColor", "foregroundColorStyle"),
]


def _sync_colors(fmt: dict[str, Any], given: dict[str, Any], tree: dict[str, Any] | None) -> None:
    """Google mirrors xColor and xColorStyle.rgbColor; keep both in step like it does."""
    for parent_path, color_key, style_key in _COLOR_PAIRS:
        color_touched = _touches(tree, (*parent_path, color_key))
        style_touched = _touches(tree, (*parent_path, style_key))
        if not (color_touched or style_touched):
            continue
        parent, src = fmt, given
        for name in parent_path:
            parent = parent.get(name) if isinstance(parent, dict) else None
            src = src.get(name) if isinstance(src, dict) else None
        if not isinstance(parent, dict):
            continue
        src = src if isinstance(src, dict) else {}
        color = src.get(color_key) if color_touched else None
        style = src.get(style_key) if style_touched else None
        if isinstance(color, dict):
            parent[color_key] = _clean_color(color)
            parent[style_key] = {"rgbColor": _clean_color(color)}
        elif isinstance(style, dict) and isinstance(style.get("rgbColor"), dict):
            parent[style_key] = {"rgbColor": _clean_color(style["rgbColor"])}
            parent[color_key] = _clean_color(style["rgbColor"])
        elif not isinstance(style, dict):
            parent.pop(color_key, None)
            parent.pop(style_key, None)


def _deep_merge(target: dict[str, Any], extra: dict[str, Any]) -> None:
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _deep_merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)


def _trim_grid(data: dict[str, Any]) -> dict[str, Any]:
    """Drop trailing empty cells and rows of a GridData, as Google does."""
    rows = data.get("rowData")
    if not isinstance(rows, list):
        return data
    for row in rows:
        values = row.get("values")
        if isinstance(values, list):
            while values and values[-1] == {}:
                values.pop()
            if not values:
                row.pop("values")
    while rows and rows[-1] == {}:
        rows.pop()
    if not rows:
        data.pop("rowData")
    return data


# ---------------------------------------------------------------- the server


def rfc3339(moment: dt.datetime) -> str:
    """An aware datetime as Drive writes times: UTC, milliseconds, ``Z`` (2026-11-02T09:15:30.123Z)."""
    if moment.tzinfo is None:
        raise ValueError("an aware datetime is needed (Drive times are UTC)")
    utc = moment.astimezone(dt.UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _load_public_key(key: Any) -> rsa.RSAPublicKey:
    if isinstance(key, rsa.RSAPrivateKey):
        return key.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        return key
    data = key.encode() if isinstance(key, str) else key
    if b"PRIVATE KEY" in data:
        private = serialization.load_pem_private_key(data, password=None)
        assert isinstance(private, rsa.RSAPrivateKey)
        return private.public_key()
    public = serialization.load_pem_public_key(data)
    assert isinstance(public, rsa.RSAPublicKey)
    return public


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], app: SheetsServer) -> None:
        self.app = app
        self.handler_threads: list[threading.Thread] = []
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        thread = threading.Thread(
            target=self.process_request_thread, args=(request, client_address), daemon=True
        )
        self.handler_threads = [t for t in self.handler_threads if t.is_alive()]
        self.handler_threads.append(thread)
        thread.start()

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not self.app._stopping.is_set():
            self.app.errors.append(traceback.format_exc())


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ESF"
    sys_version = ""
    timeout = 10  # an idle keep-alive connection is closed after this
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        # One segment per answer, no Nagle delay (else ~40 ms per request with delayed ACKs).
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.app._connections.add(self.connection)

    def finish(self) -> None:
        self.server.app._connections.discard(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        except (ConnectionError, TimeoutError, OSError):
            self.close_connection = True

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self.send_error(413)
            return
        body = self.rfile.read(length) if length else b""
        status, headers, payload = self.server.app._handle(
            self.command, self.path, dict(self.headers.items()), body
        )
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve


class SheetsServer:
    """An in-memory Google Sheets API v4 server on 127.0.0.1 (see the module docstring).

    ``SheetsServer(locale="fr_FR", time_zone="Europe/Paris", require_auth=True)``; use it as a
    context manager, or call ``start()`` and ``stop()``. ``url`` is ``http://127.0.0.1:PORT``,
    ``token_uri`` is ``url + "/token"``.
    """

    def __init__(
        self,
        *,
        locale: str = "fr_FR",
        time_zone: str = "Europe/Paris",
        require_auth: bool = True,
        host: str = "127.0.0.1",
        port: int = 0,
        seed: int = 20261126,
    ) -> None:
        self.locale = locale
        self.time_zone = time_zone
        self.require_auth = require_auth
        self._address = (host, port)
        self._lock = threading.RLock()
        self._books: dict[str, _Book] = {}
        self._keys: dict[str, list[tuple[str | None, rsa.RSAPublicKey]]] = {}
        self._tokens: dict[str, _Token] = {}
        self._faults: list[Fault] = []
        self._hooks: list[Hook] = []
        self._rng = random.Random(seed)
        self._connections: set[socket.socket] = set()
        self._stopping = threading.Event()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.requests: list[LoggedRequest] = []
        self.kinds: list[str] = []
        self.counts: Counter[str] = Counter()
        self.errors: list[str] = []  # tracebacks of server-side bugs and failing hooks
        self.token_lifetime = 3599
        #: The server's clock (aware): Drive's modifiedTime of every change; tests may replace it.
        self.clock: Callable[[], dt.datetime] = _utc_now
        #: False: the Drive API is not enabled in the caller's project (every Drive call 403s).
        self.drive_enabled = True

    # ------------------------------------------------------------ lifecycle

    def start(self) -> SheetsServer:
        if self._httpd is not None:
            return self
        self._stopping.clear()
        self._httpd = _HTTPServer(self._address, self)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self, *, check: bool = True) -> None:
        """Stop serving, close every connection, wait (bounded) for handler threads.

        With ``check``, raise AssertionError if a handler crashed (a server bug) or a hook raised.
        """
        httpd = self._httpd
        if httpd is not None:
            self._stopping.set()
            httpd.shutdown()
            for conn in list(self._connections):
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
            httpd.server_close()
            deadline = time.monotonic() + 5
            for thread in [*httpd.handler_threads, self._thread]:
                if thread is not None:
                    thread.join(max(0.0, deadline - time.monotonic()))
            self._httpd = None
            self._thread = None
        if check and self.errors:
            raise AssertionError("sheets test server errors:\n" + "\n".join(self.errors))

    def __enter__(self) -> SheetsServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop(check=exc[0] is None)

    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("server not started")
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def token_uri(self) -> str:
        return self.url + "/token"

    # ------------------------------------------------------------ auth set-up

    def register_key(self, client_email: str, public_key: Any, key_id: str | None = None) -> None:
        """Accept JWTs from ``client_email`` signed by this key (PEM or cryptography key)."""
        with self._lock:
            self._keys.setdefault(client_email, []).append((key_id, _load_public_key(public_key)))

    def expire_tokens(self) -> None:
        """Forget every access token: the next API call answers 401 (clients should refresh)."""
        with self._lock:
            self._tokens.clear()

    # ------------------------------------------------------------ spreadsheets set-up

    def add_spreadsheet(
        self,
        spreadsheet_id: str,
        title: str,
        sheets: dict[str, list[list[Any]]],
        *,
        formats: dict[str, dict[str, dict[str, Any]]] | None = None,
        notes: dict[str, dict[str, str]] | None = None,
        grid: dict[str, tuple[int, int]] | None = None,
        frozen_rows: dict[str, int] | None = None,
        sheet_ids: dict[str, int] | None = None,
        locale: str | None = None,
        time_zone: str | None = None,
        access: str = "writer",
    ) -> None:
        """Create (or replace) a spreadsheet; ``sheets`` maps tab titles to rows (row 0 = row 1).

        ``formats`` maps a title to {"A1" or "A1:C3": userEnteredFormat}, ``notes`` a title to
        {"B2": "text"}; ``grid`` a title to (rowCount, columnCount) (default: at least
        1000 x 26, as Google creates them); ``access``: "writer", "reader" (writes 403) or
        "none" (not shared with the account: 403).
        """
        if access not in ("writer", "reader", "none"):
            raise ValueError(f"access must be writer, reader or none, not {access!r}")
        loc = locale or self.locale
        book = _Book(spreadsheet_id, title, loc, time_zone or self.time_zone, [], access)
        book.created = book.modified = self._stamp()
        for index, (name, rows) in enumerate(sheets.items()):
            width = max((len(r) for r in rows), default=0)
            n_rows, n_cols = (grid or {}).get(name, (max(DEFAULT_ROWS, len(rows)), max(26, width)))
            if n_rows < len(rows) or n_cols < width:
                raise ValueError(f"grid of {name!r} smaller than its data")
            sid = (sheet_ids or {}).get(name, 0 if index == 0 else self._new_sheet_id(book))
            sheet = _Sheet(sid, name, n_rows, n_cols, frozen_rows=(frozen_rows or {}).get(name, 0))
            book.sheets.append(sheet)
            for r, row in enumerate(rows):
                for c, value in enumerate(row):
                    cell = _Cell()
                    cell.value = _python_value(value, cell, loc)
                    if not cell.empty():
                        sheet.cells[(r, c)] = cell
            for ref, fmt in (formats or {}).get(name, {}).items():
                r0, r1, c0, c1 = self._rect(sheet, ref)
                for r in range(r0, r1):
                    for c in range(c0, c1):
                        cell = sheet.cells.setdefault((r, c), _Cell())
                        _deep_merge(cell.fmt, fmt)
                        _sync_colors(cell.fmt, fmt, {k: None for k in fmt})
            for ref, text in (notes or {}).get(name, {}).items():
                sheet.cells.setdefault(parse_cell(ref), _Cell()).note = text or None
        with self._lock:
            self._books[spreadsheet_id] = book

    def remove_spreadsheet(self, spreadsheet_id: str) -> None:
        with self._lock:
            self._books.pop(spreadsheet_id, None)

    def set_access(self, spreadsheet_id: str, access: str) -> None:
        """'writer', 'reader' or 'none' (a spreadsheet not shared with the service account)."""
        if access not in ("writer", "reader", "none"):
            raise ValueError(access)
        with self._lock:
            self._book(spreadsheet_id).access = access

    # ------------------------------------------------------------ inspection

    def spreadsheet_ids(self) -> list[str]:
        with self._lock:
            return list(self._books)

    def sheet_titles(self, spreadsheet_id: str) -> list[str]:
        with self._lock:
            return [s.title for s in self._book(spreadsheet_id).sheets]

    def sheet_properties(self, spreadsheet_id: str, title: str) -> dict[str, Any]:
        """The sheet's properties as the API returns them (sheetId, gridProperties...)."""
        with self._lock:
            book = self._book(spreadsheet_id)
            sheet = self._sheet(book, title)
            return self._sheet_props(book, sheet)

    def values(self, spreadsheet_id: str, title: str) -> list[list[Any]]:
        """The stored values, rows up to the last non-empty one, each padded with None.

        Dates (numbers with a DATE format) come back as ``date``/``datetime``, formulas as
        ``{"formula": ...}``.
        """
        with self._lock:
            sheet = self._sheet(self._book(spreadsheet_id), title)
            filled = [k for k, cell in sheet.cells.items() if cell.value is not None]
            if not filled:
                return []
            n_rows = max(r for r, _ in filled) + 1
            n_cols = max(c for _, c in filled) + 1
            grid: list[list[Any]] = [[None] * n_cols for _ in range(n_rows)]
            for (r, c), cell in sheet.cells.items():
                if cell.value is not None:
                    grid[r][c] = _as_python(cell)
            return grid

    def cell(self, spreadsheet_id: str, title: str, a1: str) -> CellInfo:
        """A copy of one cell: value (as in ``values``), userEnteredFormat, note, validation."""
        with self._lock:
            sheet = self._sheet(self._book(spreadsheet_id), title)
            cell = sheet.cells.get(parse_cell(a1)) or _Cell()
            value = _as_python(cell) if cell.value is not None else None
            return CellInfo(
                value, copy.deepcopy(cell.fmt), cell.note, copy.deepcopy(cell.validation)
            )

    def format(self, spreadsheet_id: str, title: str, a1: str) -> dict[str, Any]:
        return self.cell(spreadsheet_id, title, a1).format

    def note(self, spreadsheet_id: str, title: str, a1: str) -> str | None:
        return self.cell(spreadsheet_id, title, a1).note

    def column_width(self, spreadsheet_id: str, title: str, column: int | str) -> int:
        """A column's pixel width (100 unless set)."""
        with self._lock:
            sheet = self._sheet(self._book(spreadsheet_id), title)
            return sheet.sizes[1].get(self._col(column), 100)

    def merges(self, spreadsheet_id: str, title: str) -> list[str]:
        """Merged ranges, in A1 notation."""
        with self._lock:
            sheet = self._sheet(self._book(spreadsheet_id), title)
            return [a1_rect(*m) for m in sheet.merges]

    def modified_time(self, spreadsheet_id: str) -> dt.datetime:
        """The spreadsheet's Drive modifiedTime (aware, UTC, to the millisecond)."""
        with self._lock:
            text = self._book(spreadsheet_id).modified
        return dt.datetime.fromisoformat(text)

    def count(self, kind: str) -> int:
        return self.counts[kind]

    def reset_log(self) -> None:
        with self._lock:
            self.requests.clear()
            self.kinds.clear()
            self.counts.clear()

    # ------------------------------------------------------------ people editing meanwhile

    def set_cell(
        self,
        spreadsheet_id: str,
        title: str,
        a1: str,
        value: Any,
        *,
        format: dict[str, Any] | None = None,
        note: str | None = None,
    ) -> None:
        """Type a value in a cell (a date gets a date format; None or "" clears the value).

        ``format`` is merged into the cell's userEnteredFormat; ``note`` replaces its note
        (``""`` removes it). The grid grows if the cell is outside it.
        """
        with self._lock:
            book = self._book(spreadsheet_id)
            sheet = self._sheet(book, title)
            r, c = parse_cell(a1)
            sheet.row_count = max(sheet.row_count, r + 1)
            sheet.col_count = max(sheet.col_count, c + 1)
            cell = sheet.cells.setdefault((r, c), _Cell())
            if format:
                _deep_merge(cell.fmt, format)
                _sync_colors(cell.fmt, format, {k: None for k in format})
            cell.value = _python_value(value, cell, book.locale)
            if note is not None:
                cell.note = note or None
            if cell.empty():
                del sheet.cells[(r, c)]
            self._touch(book)

    def set_values(self, spreadsheet_id: str, title: str, a1: str, rows: list[list[Any]]) -> None:
        """``set_cell`` for a block of rows starting at ``a1``."""
        r0, c0 = parse_cell(a1)
        with self._lock:
            for dr, row in enumerate(rows):
                for dc, value in enumerate(row):
                    ref = f"{column_letter(c0 + dc)}{r0 + dr + 1}"
                    self.set_cell(spreadsheet_id, title, ref, value)

    def insert_rows(self, spreadsheet_id: str, title: str, at: int, n: int = 1) -> None:
        """Insert ``n`` empty rows so that they become rows ``at``.. (1-based), like a person.

        They take the formats of the row above, as in the Sheets UI.
        """
        with self._lock:
            book = self._book(spreadsheet_id)
            sheet = self._sheet(book, title)
            self._insert_dim(sheet, 0, at - 1, n, inherit_before=at > 1)
            self._touch(book)

    def delete_rows(self, spreadsheet_id: str, title: str, at: int, n: int = 1) -> None:
        """Delete rows ``at``..``at+n-1`` (1-based)."""
        with self._lock:
            book = self._book(spreadsheet_id)
            self._delete_dim(self._sheet(book, title), 0, at - 1, at - 1 + n)
            self._touch(book)

    def insert_columns(self, spreadsheet_id: str, title: str, at: int | str, n: int = 1) -> None:
        """Insert ``n`` empty columns before column ``at`` (0-based index or letters)."""
        with self._lock:
            book = self._book(spreadsheet_id)
            col = self._col(at)
            self._insert_dim(self._sheet(book, title), 1, col, n, inherit_before=col > 0)
            self._touch(book)

    def delete_columns(self, spreadsheet_id: str, title: str, at: int | str, n: int = 1) -> None:
        with self._lock:
            book = self._book(spreadsheet_id)
            col = self._col(at)
            self._delete_dim(self._sheet(book, title), 1, col, col + n)
            self._touch(book)

    def sort_rows(
        self,
        spreadsheet_id: str,
        title: str,
        key_col: int | str,
        header_rows: int = 1,
        *,
        reverse: bool = False,
    ) -> None:
        """Sort the rows below ``header_rows`` on a column (index or letters), like Data > Sort.

        Whole rows move (values, formats, notes); empty keys go last; the sort is stable.
        """
        col = self._col(key_col)
        with self._lock:
            book = self._book(spreadsheet_id)
            sheet = self._sheet(book, title)
            used = [r for r, _ in sheet.cells if r >= header_rows]
            if not used:
                return
            last = max(used)
            by_row: dict[int, dict[int, _Cell]] = {}
            for (r, c), cell in sheet.cells.items():
                if header_rows <= r <= last:
                    by_row.setdefault(r, {})[c] = cell

            def key(r: int) -> tuple[int, Any]:
                cell = by_row.get(r, {}).get(col)
                value = cell.value if cell else None
                if isinstance(value, dict):
                    value = evaluate(value)
                if value is None:
                    return (3, 0)
                if isinstance(value, bool):
                    return (2, int(value))
                if _is_number(value):
                    return (0, value)
                return (1, str(value).lower())

            order = list(range(header_rows, last + 1))
            present = [r for r in order if key(r)[0] != 3]
            missing = [r for r in order if key(r)[0] == 3]
            present.sort(key=key, reverse=reverse)
            new_order = present + missing
            cells = {k: v for k, v in sheet.cells.items() if not header_rows <= k[0] <= last}
            for new_r, old_r in enumerate(new_order, start=header_rows):
                for c, cell in by_row.get(old_r, {}).items():
                    cells[(new_r, c)] = cell
            sheet.cells = cells
            self._touch(book)

    def rename_sheet(self, spreadsheet_id: str, title: str, new_title: str) -> None:
        with self._lock:
            book = self._book(spreadsheet_id)
            self._sheet(book, title).title = new_title
            self._touch(book)

    def add_sheet(self, spreadsheet_id: str, title: str, rows: list[list[Any]]) -> None:
        """Add a tab (at the end) with these rows."""
        with self._lock:
            book = self._book(spreadsheet_id)
            width = max((len(r) for r in rows), default=0)
            sheet = _Sheet(
                self._new_sheet_id(book), title, max(DEFAULT_ROWS, len(rows)), max(26, width)
            )
            book.sheets.append(sheet)
            self._touch(book)
            for r, row in enumerate(rows):
                for c, value in enumerate(row):
                    if value not in (None, ""):
                        self.set_cell(spreadsheet_id, title, f"{column_letter(c)}{r + 1}", value)

    def delete_sheet(self, spreadsheet_id: str, title: str) -> None:
        with self._lock:
            book = self._book(spreadsheet_id)
            book.sheets.remove(self._sheet(book, title))
            self._touch(book)

    def set_modified(self, spreadsheet_id: str, when: dt.datetime) -> None:
        """Set the spreadsheet's Drive modifiedTime (aware), as a person's edit in the browser
        would; every later change (``set_cell``..., an API write) sets it to ``clock()``."""
        with self._lock:
            self._book(spreadsheet_id).modified = rfc3339(when)

    # ------------------------------------------------------------ faults and hooks

    def fail_next(
        self,
        kind_or_path_regex: str,
        status: int | None = 503,
        times: int = 1,
        retry_after: float | str | None = None,
        body: Any = None,
        delay: float | None = None,
        headers: dict[str, str] | None = None,
    ) -> Fault:
        """Make the next ``times`` matching requests fail.

        ``kind_or_path_regex``: a kind of ``KINDS`` ("metadata", "batchGet", "valuesBatchUpdate",
        "batchUpdate", "token"...), "api" (any non-token request), or a regex searched in the
        decoded path. ``status``: the HTTP status answered, in Google's error format unless
        ``body`` is given (a dict is sent as JSON, a str/bytes as text/html: e.g. a proxy's HTML
        page); None answers normally (with ``delay``: a slow answer). ``retry_after`` sets the
        Retry-After header. ``delay`` sleeps that many seconds before answering (a client with a
        shorter timeout gives up; the request is still processed afterwards when ``status`` is
        None, as a real server may do). A faulted request is logged and counted but never reaches
        hooks or the data.
        """
        fault = Fault(
            kind_or_path_regex, status, times, retry_after, body, delay, dict(headers or {})
        )
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def on_request(
        self,
        kind_or_path_regex: str,
        callback: Callable[[LoggedRequest], Any],
        times: int | None = 1,
    ) -> Hook:
        """Run ``callback(request)`` just before the next ``times`` matching requests are served
        (None: every time). It runs in the server thread, holding the server's lock, so it may
        call ``insert_rows``, ``set_cell``... An exception in it becomes a 500 answer and is
        reported by ``stop()``.
        """
        hook = Hook(kind_or_path_regex, callback, times)
        with self._lock:
            self._hooks.append(hook)
        return hook

    # ------------------------------------------------------------ internals: lookup

    def _book(self, spreadsheet_id: str) -> _Book:
        try:
            return self._books[spreadsheet_id]
        except KeyError:
            raise KeyError(f"no spreadsheet {spreadsheet_id!r}") from None

    @staticmethod
    def _sheet(book: _Book, title: str) -> _Sheet:
        for sheet in book.sheets:
            if sheet.title == title:
                return sheet
        raise KeyError(f"no sheet {title!r} in {book.spreadsheet_id!r}")

    @staticmethod
    def _col(col: int | str) -> int:
        return column_index(col) if isinstance(col, str) else col

    def _new_sheet_id(self, book: _Book) -> int:
        used = {s.sheet_id for s in book.sheets}
        while True:
            sid = self._rng.randrange(1, 2**31 - 1)
            if sid not in used:
                return sid

    @staticmethod
    def _rect(sheet: _Sheet, ref: str) -> tuple[int, int, int, int]:
        r0, r1, c0, c1 = _parse_a1(ref)
        return (
            r0 or 0,
            sheet.row_count if r1 is None else r1,
            c0 or 0,
            sheet.col_count if c1 is None else c1,
        )

    def _resolve(self, book: _Book, text: str) -> _Range:
        """An A1 range of the API ('Sheet'!A1:B2, Sheet!A:A, a bare title, A1 on sheet 1)."""
        bad = ApiError(400, f"Unable to parse range: {text}")
        try:
            title, a1 = _split_range(text)
        except ValueError:
            raise bad from None
        sheet = None
        if title is not None:
            sheet = next((s for s in book.sheets if s.title.lower() == title.lower()), None)
            if sheet is None:
                raise bad
        elif a1 is not None:
            sheet = next((s for s in book.sheets if s.title.lower() == a1.lower()), None)
            if sheet is not None:
                a1 = None
        if sheet is None:
            if not book.sheets:
                raise bad
            sheet = book.sheets[0]
        if a1 is None:
            return _Range(sheet, None, None, None, None, text)
        try:
            r0, r1, c0, c1 = _parse_a1(a1)
        except ValueError:
            raise bad from None
        rng = _Range(sheet, r0, r1, c0, c1, text, anchor=":" not in a1)
        self._check_grid(rng)
        return rng

    @staticmethod
    def _check_grid(rng: _Range, rows: int | None = None, cols: int | None = None) -> None:
        sheet = rng.sheet
        r0, r1, c0, c1 = rng.bounds()
        r1 = max(r1, r0 + (rows or 0))
        c1 = max(c1, c0 + (cols or 0))
        if r1 > sheet.row_count or c1 > sheet.col_count or r0 >= sheet.row_count:
            shown = "'" + sheet.title.replace("'", "''") + "'!" + a1_rect(r0, r1, c0, c1)
            raise ApiError(
                400,
                f"Range ({shown}) exceeds grid limits. Max rows: {sheet.row_count}, "
                f"max columns: {sheet.col_count}",
            )

    def _grid_bounds(self, sheet: _Sheet, grid: dict[str, Any], where: str) -> tuple[int, ...]:
        r0 = int(grid.get("startRowIndex", 0))
        c0 = int(grid.get("startColumnIndex", 0))
        r1 = int(grid.get("endRowIndex", sheet.row_count))
        c1 = int(grid.get("endColumnIndex", sheet.col_count))
        if min(r0, c0) < 0 or r1 < r0 or c1 < c0:
            raise ApiError(400, f"Invalid {where}: the range is invalid")
        if r1 > sheet.row_count or c1 > sheet.col_count:
            shown = "'" + sheet.title.replace("'", "''") + "'!" + a1_rect(r0, r1, c0, c1)
            raise ApiError(
                400,
                f"Invalid {where}: Range ({shown}) exceeds grid limits. Max rows: "
                f"{sheet.row_count}, max columns: {sheet.col_count}",
            )
        return r0, r1, c0, c1

    # ------------------------------------------------------------ internals: dimensions

    @staticmethod
    def _insert_dim(sheet: _Sheet, axis: int, start: int, n: int, inherit_before: bool) -> None:
        limit = sheet.row_count if axis == 0 else sheet.col_count
        if n <= 0 or start < 0 or start > limit:
            raise ValueError(f"cannot insert {n} at index {start} of {limit}")

        def shift(key: tuple[int, int]) -> tuple[int, int]:
            if key[axis] < start:
                return key
            return (key[0] + n, key[1]) if axis == 0 else (key[0], key[1] + n)

        source = start - 1 if inherit_before else start
        formats = {
            key[1 - axis]: copy.deepcopy(cell.fmt)
            for key, cell in sheet.cells.items()
            if key[axis] == source and cell.fmt
        }
        sheet.cells = {shift(k): v for k, v in sheet.cells.items()}
        for other, fmt in formats.items():
            for i in range(start, start + n):
                key = (i, other) if axis == 0 else (other, i)
                sheet.cells[key] = _Cell(fmt=copy.deepcopy(fmt))
        sizes = sheet.sizes[axis]
        shifted = {(i + n if i >= start else i): s for i, s in sizes.items()}
        sizes.clear()
        sizes.update(shifted)
        for m in sheet.merges:
            lo, hi = (0, 1) if axis == 0 else (2, 3)
            if m[lo] >= start:
                m[lo] += n
                m[hi] += n
            elif m[hi] > start:
                m[hi] += n
        if axis == 0:
            sheet.row_count += n
        else:
            sheet.col_count += n

    @staticmethod
    def _delete_dim(sheet: _Sheet, axis: int, start: int, end: int) -> None:
        limit = sheet.row_count if axis == 0 else sheet.col_count
        if start < 0 or end <= start or end > limit:
            raise ValueError("the range is invalid")
        n = end - start
        if n >= limit:
            what = "rows" if axis == 0 else "columns"
            raise ValueError(f"You can't delete all the {what} on the sheet.")

        def shift(key: tuple[int, int]) -> tuple[int, int]:
            if key[axis] < end:
                return key
            return (key[0] - n, key[1]) if axis == 0 else (key[0], key[1] - n)

        sheet.cells = {shift(k): v for k, v in sheet.cells.items() if not start <= k[axis] < end}
        sizes = sheet.sizes[axis]
        kept = {(i - n if i >= end else i): s for i, s in sizes.items() if not start <= i < end}
        sizes.clear()
        sizes.update(kept)
        lo, hi = (0, 1) if axis == 0 else (2, 3)
        merges = []
        for m in sheet.merges:  # merges across the deleted span are dropped
            if m[hi] <= start:
                merges.append(m)
            elif m[lo] >= end:
                m[lo] -= n
                m[hi] -= n
                merges.append(m)
        sheet.merges = merges
        if axis == 0:
            sheet.row_count -= n
        else:
            sheet.col_count -= n

    # ------------------------------------------------------------ internals: HTTP

    def _handle(
        self, method: str, raw_path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        split = urlsplit(raw_path)
        path, query = split.path, parse_qs(split.query, keep_blank_values=True)
        kind, route = self._route(method, path)
        parsed: Any = None
        if body:
            text = body.decode("utf-8", "replace")
            if "x-www-form-urlencoded" in headers.get("Content-Type", ""):
                parsed = {k: v[0] for k, v in parse_qs(text).items()}
            else:
                try:
                    parsed = json.loads(text)
                except ValueError:
                    parsed = text
        logged = LoggedRequest(method, unquote(path), query, parsed)
        with self._lock:
            self.requests.append(logged)
            self.kinds.append(kind)
            self.counts[kind] += 1
            fault = self._take(self._faults, kind, logged.path)
            if isinstance(fault, Fault):
                fault.fired += 1
        if isinstance(fault, Fault):
            if fault.delay:
                self._stopping.wait(fault.delay)
            if fault.status is not None:
                return self._fault_answer(fault, kind)
        try:
            with self._lock:
                if kind != "token" and route is not None:
                    self._authorise(kind, headers)
                    applied: list[Hook] = []  # each hook once per request, however many times
                    while True:
                        pending = [h for h in self._hooks if all(h is not a for a in applied)]
                        hook = self._take(pending, kind, logged.path)
                        if not isinstance(hook, Hook):
                            break
                        applied.append(hook)
                        hook.calls += 1
                        try:
                            hook.callback(logged)
                        except Exception:
                            self.errors.append("hook failed:\n" + traceback.format_exc())
                            raise ApiError(500) from None
                if route is None:
                    return (
                        404,
                        {"Content-Type": "text/html; charset=UTF-8"},
                        (HTML_404.format(path=path).encode()),
                    )
                return route(method, path, query, body, headers)
        except ApiError as exc:
            return self._error(exc, kind)
        except Exception:
            self.errors.append(traceback.format_exc())
            return self._error(ApiError(500))

    @staticmethod
    def _take(items: list[Any], kind: str, path: str) -> Fault | Hook | None:
        for item in items:
            if item.remaining is not None and item.remaining <= 0:
                continue
            match = item.match
            if match in KINDS:
                hit = match == kind
            elif match == "api":
                hit = kind != "token"
            else:
                hit = re.search(match, path) is not None
            if hit:
                if item.remaining is not None:
                    item.remaining -= 1
                return item
        return None

    def _fault_answer(self, fault: Fault, kind: str) -> tuple[int, dict[str, str], bytes]:
        status = fault.status or 500
        headers = {"Content-Type": "application/json; charset=UTF-8"}
        if fault.body is None:
            if status == 502:
                headers["Content-Type"] = "text/html; charset=UTF-8"
                payload = HTML_502.encode()
            else:
                exc = ApiError(status)
                if status == 429:
                    what = "Read" if kind in READ_KINDS else "Write"
                    service = "drive" if kind == "drive" else "sheets"
                    exc.message = (
                        f"Quota exceeded for quota metric '{what} requests' and limit '{what} "
                        f"requests per minute per user' of service '{service}.googleapis.com' for "
                        f"consumer 'project_number:000000000000'."
                    )
                    exc.details = [
                        {
                            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                            "reason": "RATE_LIMIT_EXCEEDED",
                            "domain": "googleapis.com",
                            "metadata": {
                                "service": f"{service}.googleapis.com",
                                "quota_metric": f"{service}.googleapis.com/{what.lower()}_requests",
                                "quota_limit_value": "60",
                                "consumer": "projects/000000000000",
                                "quota_limit": f"{what}RequestsPerMinutePerUser",
                            },
                        }
                    ]
                _, _, payload = self._error(exc, kind)
        elif isinstance(fault.body, dict | list):
            payload = json.dumps(fault.body).encode()
        else:
            headers["Content-Type"] = "text/html; charset=UTF-8"
            payload = fault.body if isinstance(fault.body, bytes) else str(fault.body).encode()
        if fault.retry_after is not None:
            headers["Retry-After"] = str(fault.retry_after)
        headers.update(fault.headers)
        return status, headers, payload

    @staticmethod
    def _json(obj: Any, status: int = 200) -> tuple[int, dict[str, str], bytes]:
        payload = json.dumps(obj, ensure_ascii=False, indent=2).encode("utf-8")
        return status, {"Content-Type": "application/json; charset=UTF-8"}, payload

    def _error(self, exc: ApiError, kind: str = "") -> tuple[int, dict[str, str], bytes]:
        error: dict[str, Any] = {"code": exc.code, "message": exc.message}
        errors = exc.errors
        if errors is None and kind == "drive":  # Drive answers always carry their errors list
            errors = drive_error(exc.code, exc.message).errors
        if errors is not None:
            error["errors"] = errors
        if exc.status:
            error["status"] = STATUS_NAMES.get(exc.code, "UNKNOWN")
        if exc.details:
            error["details"] = exc.details
        status, headers, payload = self._json({"error": error}, exc.code)
        if exc.code == 401:
            headers["WWW-Authenticate"] = 'Bearer realm="https://accounts.google.com/"'
        return status, headers, payload

    def _route(self, method: str, path: str) -> tuple[str, Any]:
        if path == "/token":
            return "token", self._token if method == "POST" else None
        m = re.match(r"^/v4/spreadsheets/([^/:]+)(.*)$", path)
        if m:
            sid, rest = unquote(m.group(1)), m.group(2)
            table: dict[tuple[str, str], tuple[str, Any]] = {
                ("GET", ""): ("metadata", self._metadata),
                ("POST", ":batchUpdate"): ("batchUpdate", self._batch_update),
                ("GET", "/values:batchGet"): ("batchGet", self._values_batch_get),
                ("POST", "/values:batchUpdate"): ("valuesBatchUpdate", self._values_batch_update),
                ("POST", "/values:batchClear"): ("valuesBatchClear", self._values_batch_clear),
            }
            if (method, rest) in table:
                kind, fn = table[(method, rest)]
                return kind, self._with_book(sid, kind, fn)
            vm = re.match(r"^/values/(.+?)(:clear|:append)?$", rest)
            if vm:
                rng = unquote(vm.group(1))
                suffix = vm.group(2)
                if suffix == ":clear" and method == "POST":
                    return "valuesClear", self._with_book(
                        sid, "valuesClear", self._values_clear, rng
                    )
                if suffix == ":append" and method == "POST":
                    return "valuesAppend", self._unimplemented("values.append")
                if suffix is None and method == "GET":
                    return "valuesGet", self._with_book(sid, "valuesGet", self._values_get, rng)
                if suffix is None and method == "PUT":
                    fn = self._values_update
                    return "valuesUpdate", self._with_book(sid, "valuesUpdate", fn, rng)
            if method in ("GET", "POST", "PUT"):
                return "unknown", self._unimplemented(f"{method} {path}")
            return "unknown", None
        m = re.match(r"^/drive/v3/files(?:/([^/]+))?$", path)
        if m:
            return "drive", self._drive_handler(method, unquote(m.group(1) or ""))
        return "unknown", None

    def _unimplemented(self, what: str) -> Callable[..., Any]:
        def answer(*_: Any) -> Any:
            raise ApiError(501, f"{what} is not implemented by the local test server")

        return answer

    # ------------------------------------------------------------ auth

    def _token(self, method: str, path: str, query: Any, body: bytes, headers: Any) -> Any:
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        grant = form.get("grant_type", "")

        def refuse(error: str, description: str) -> Any:
            return self._json({"error": error, "error_description": description}, 400)

        if grant != JWT_BEARER:
            return refuse("unsupported_grant_type", f"Invalid grant_type: {grant}")
        parts = form.get("assertion", "").split(".")
        try:
            header = json.loads(_b64decode(parts[0]))
            claims = json.loads(_b64decode(parts[1]))
            signature = _b64decode(parts[2])
        except (ValueError, IndexError):
            return refuse("invalid_grant", "Invalid JWT: the assertion cannot be decoded.")
        if len(parts) != 3 or header.get("alg") != "RS256":
            return refuse("invalid_grant", "Invalid JWT Signature.")
        email = claims.get("iss", "")
        keys = self._keys.get(email)
        if not keys:
            return refuse("invalid_grant", "Invalid grant: account not found")
        signed = f"{parts[0]}.{parts[1]}".encode()
        kid = header.get("kid")
        candidates = [k for i, k in keys if i in (None, kid)] or [k for _, k in keys]
        for key in candidates:
            try:
                key.verify(signature, signed, padding.PKCS1v15(), hashes.SHA256())
                break
            except InvalidSignature:
                continue
        else:
            return refuse("invalid_grant", "Invalid JWT Signature.")
        aud = claims.get("aud", "")
        if aud != GOOGLE_TOKEN_URL and urlsplit(str(aud)).path != "/token":
            return refuse(
                "invalid_grant",
                f"Invalid JWT: Failed audience check. The right audience is {GOOGLE_TOKEN_URL}",
            )
        now = time.time()
        iat, exp = claims.get("iat", 0), claims.get("exp", 0)
        if not (iat - 300 <= now <= exp + 300) or exp - iat > 3600:
            return refuse(
                "invalid_grant",
                "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable "
                "timeframe. Check your iat and exp values in the JWT claim.",
            )
        scopes = set(str(claims.get("scope", "")).split())
        if not scopes:
            return refuse("invalid_scope", "Invalid OAuth scope or ID token audience provided.")
        token = "ya29.local-" + secrets.token_urlsafe(24)
        self._tokens[token] = _Token(email, scopes, time.monotonic() + self.token_lifetime)
        return self._json(
            {"access_token": token, "expires_in": self.token_lifetime, "token_type": "Bearer"}
        )

    def _authorise(self, kind: str, headers: dict[str, str]) -> None:
        if not self.require_auth:
            return
        auth = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
        if not auth.startswith("Bearer "):
            raise ApiError(401, MISSING_CREDENTIALS)
        token = self._tokens.get(auth[7:].strip())
        if token is None or token.expires < time.monotonic():
            raise ApiError(401)
        if kind == "drive":
            return  # checked per method in _drive_handler
        allowed = SHEETS_RO if kind in READ_KINDS else SHEETS_RW
        if not token.scopes & allowed:
            raise ApiError(403, "Request had insufficient authentication scopes.")

    def _drive_scopes(self, headers: dict[str, str], write: bool, method: str) -> None:
        if not self.require_auth:
            return
        auth = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
        token = self._tokens.get(auth[7:].strip())
        if token and not token.scopes & (DRIVE_RW if write else DRIVE_RO):
            info = {"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": "ACCESS_TOKEN_SCOPE_INSUFFICIENT", "domain": "googleapis.com",
                    "metadata": {"service": "drive.googleapis.com",
                                 "method": f"com.google.apps.drive.v3.DriveFiles.{method}"}}  # fmt: skip
            raise drive_error(
                403, "Request had insufficient authentication scopes.",
                reason="insufficientPermissions", item_message="Insufficient Permission",
                status=True, details=[info],
            )  # fmt: skip

    @staticmethod
    def _drive_disabled() -> ApiError:
        """What Google answers when the Drive API is not enabled in the caller's project."""
        project = "000000000000"
        message = (
            f"Google Drive API has not been used in project {project} before or it is disabled. "
            f"Enable it by visiting https://console.developers.google.com/apis/api/"
            f"drive.googleapis.com/overview?project={project} then retry. If you enabled this "
            f"API recently, wait a few minutes for the action to propagate to our systems and "
            f"retry."
        )
        info = {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "SERVICE_DISABLED",
                "domain": "googleapis.com",
                "metadata": {"service": "drive.googleapis.com", "consumer": f"projects/{project}"}}  # fmt: skip
        return drive_error(
            403, message, reason="accessNotConfigured", domain="usageLimits", status=True,
            details=[info], extra={"extendedHelp": "https://console.developers.google.com"},
        )  # fmt: skip

    def _with_book(self, sid: str, kind: str, fn: Callable[..., Any], *extra: Any) -> Any:
        def call(method: str, path: str, query: Any, body: bytes, headers: Any) -> Any:
            book = self._books.get(sid)
            if book is None:
                raise ApiError(404)
            if book.access == "none" or (book.access == "reader" and kind not in READ_KINDS):
                raise ApiError(403)
            return fn(book, query, body, *extra)

        return call

    # ------------------------------------------------------------ API: reading

    @staticmethod
    def _option(query: dict[str, list[str]], name: str, allowed: tuple[str, ...]) -> str:
        value = (query.get(name) or [allowed[0]])[-1]
        if value not in allowed:
            proto = name[0].upper() + name[1:]
            snake = re.sub(r"([A-Z])", r"_\1", name).lower()
            raise ApiError(
                400,
                f"Invalid value at '{snake}' "
                f'(type.googleapis.com/google.apps.sheets.v4.{proto}), "{value}"',
            )
        return value

    def _read_options(self, query: dict[str, list[str]]) -> tuple[str, str, str]:
        vro = self._option(
            query, "valueRenderOption", ("FORMATTED_VALUE", "UNFORMATTED_VALUE", "FORMULA")
        )
        dtro = self._option(query, "dateTimeRenderOption", ("SERIAL_NUMBER", "FORMATTED_STRING"))
        major = self._option(query, "majorDimension", ("ROWS", "COLUMNS", "DIMENSION_UNSPECIFIED"))
        return vro, dtro, "ROWS" if major == "DIMENSION_UNSPECIFIED" else major

    def _value_range(
        self, book: _Book, rng: _Range, vro: str, dtro: str, major: str
    ) -> dict[str, Any]:
        r0, r1, c0, c1 = rng.bounds()
        sheet = rng.sheet
        grid = [
            [render(sheet.cells.get((r, c)), vro, dtro, book.locale) for c in range(c0, c1)]
            for r in range(r0, min(r1, 1 + max((k[0] for k in sheet.cells), default=-1)))
        ]
        if major == "COLUMNS":
            width = c1 - c0
            grid = [[row[i] for row in grid] for i in range(width)] if grid else []
        for line in grid:
            while line and line[-1] == "":
                line.pop()
        while grid and not grid[-1]:
            grid.pop()
        out: dict[str, Any] = {
            "range": quote_title(sheet.title) + "!" + a1_rect(r0, r1, c0, c1),
            "majorDimension": major,
        }
        if grid:
            out["values"] = grid
        return out

    def _values_get(self, book: _Book, query: Any, body: bytes, rng_text: str) -> Any:
        vro, dtro, major = self._read_options(query)
        return self._json(self._value_range(book, self._resolve(book, rng_text), vro, dtro, major))

    def _values_batch_get(self, book: _Book, query: Any, body: bytes) -> Any:
        vro, dtro, major = self._read_options(query)
        ranges = [self._resolve(book, text) for text in query.get("ranges", [])]
        out: dict[str, Any] = {"spreadsheetId": book.spreadsheet_id}
        if ranges:
            out["valueRanges"] = [self._value_range(book, r, vro, dtro, major) for r in ranges]
        return self._json(out)

    def _sheet_props(self, book: _Book, sheet: _Sheet) -> dict[str, Any]:
        grid: dict[str, Any] = {"rowCount": sheet.row_count, "columnCount": sheet.col_count}
        if sheet.frozen_rows:
            grid["frozenRowCount"] = sheet.frozen_rows
        if sheet.frozen_cols:
            grid["frozenColumnCount"] = sheet.frozen_cols
        props: dict[str, Any] = {
            "sheetId": sheet.sheet_id,
            "title": sheet.title,
            "index": book.sheets.index(sheet),
            "sheetType": "GRID",
            "gridProperties": grid,
        }
        if sheet.hidden:
            props["hidden"] = True
        if sheet.tab_color:
            props["tabColor"] = copy.deepcopy(sheet.tab_color)
            props["tabColorStyle"] = {"rgbColor": copy.deepcopy(sheet.tab_color)}
        return props

    def _cell_data(self, book: _Book, cell: _Cell | None) -> dict[str, Any]:
        if cell is None:
            return {}
        out: dict[str, Any] = {}
        if cell.value is not None:
            out["userEnteredValue"] = _extended(cell.value)
            effective = evaluate(cell.value) if isinstance(cell.value, dict) else cell.value
            out["effectiveValue"] = _extended(effective)
            out["formattedValue"] = render(cell, "FORMATTED_VALUE", "FORMATTED_STRING", book.locale)
        if cell.fmt:
            out["userEnteredFormat"] = copy.deepcopy(cell.fmt)
        if cell.note:
            out["note"] = cell.note
        if cell.validation:
            out["dataValidation"] = copy.deepcopy(cell.validation)
        return out

    def _grid_data(
        self, book: _Book, sheet: _Sheet, bounds: tuple[int, int, int, int], tree: Any
    ) -> dict[str, Any]:
        r0, r1, c0, c1 = bounds
        last_r = min(r1, 1 + max((k[0] for k in sheet.cells), default=-1))
        last_c = min(c1, 1 + max((k[1] for k in sheet.cells), default=-1))
        data: dict[str, Any] = {}
        if r0:
            data["startRow"] = r0
        if c0:
            data["startColumn"] = c0
        data["rowData"] = [
            {"values": [self._cell_data(book, sheet.cells.get((r, c))) for c in range(c0, last_c)]}
            for r in range(r0, last_r)
        ]
        rows, cols = sheet.sizes
        data["rowMetadata"] = [{"pixelSize": rows.get(r, 21)} for r in range(r0, r1)]
        data["columnMetadata"] = [{"pixelSize": cols.get(c, 100)} for c in range(c0, c1)]
        return _trim_grid(mask_read(data, tree))

    def _metadata(self, book: _Book, query: Any, body: bytes) -> Any:
        fields = (query.get("fields") or [None])[-1]
        try:
            tree = parse_mask(fields) if fields is not None else None
        except ValueError as exc:
            raise ApiError(400, str(exc)) from None
        if fields is not None:
            sheets_tree = None if tree is None else tree.get("sheets", {})
            with_data = sheets_tree is None or "data" in sheets_tree or "*" in sheets_tree
        else:
            with_data = (query.get("includeGridData") or ["false"])[-1].lower() == "true"
        ranges = [self._resolve(book, text) for text in query.get("ranges", [])]
        sheets_out = []
        for sheet in book.sheets:
            mine = [r for r in ranges if r.sheet is sheet]
            if ranges and not mine:
                continue
            entry: dict[str, Any] = {"properties": self._sheet_props(book, sheet)}
            if with_data:
                data_tree = None
                if tree is not None and isinstance(tree.get("sheets"), dict):
                    data_tree = tree["sheets"].get("data")
                parts = [r.bounds() for r in mine] or [(0, sheet.row_count, 0, sheet.col_count)]
                entry["data"] = [self._grid_data(book, sheet, b, data_tree) for b in parts]
            if sheet.merges:
                entry["merges"] = [self._grid_json(sheet, m) for m in sheet.merges]
            sheets_out.append(entry)
        out = {
            "spreadsheetId": book.spreadsheet_id,
            "properties": {
                "title": book.title,
                "locale": book.locale,
                "autoRecalc": book.auto_recalc,
                "timeZone": book.time_zone,
                "defaultFormat": copy.deepcopy(DEFAULT_FORMAT),
                "spreadsheetTheme": copy.deepcopy(SPREADSHEET_THEME),
            },
            "sheets": sheets_out,
            "spreadsheetUrl": f"https://docs.google.com/spreadsheets/d/{book.spreadsheet_id}/edit",
        }
        return self._json(mask_read(out, tree))

    @staticmethod
    def _grid_json(sheet: _Sheet, m: list[int]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if sheet.sheet_id:
            out["sheetId"] = sheet.sheet_id
        keys = ("startRowIndex", "endRowIndex", "startColumnIndex", "endColumnIndex")
        out.update(dict(zip(keys, m, strict=True)))  # zeros included, as recorded
        return out

    # ------------------------------------------------------------ API: writing values

    def _stamp(self) -> str:
        return rfc3339(self.clock())

    def _touch(self, book: _Book) -> None:
        """The spreadsheet changed: Drive's modifiedTime becomes the server's clock."""
        book.modified = self._stamp()

    @staticmethod
    def _body(body: bytes) -> dict[str, Any]:
        if not body:
            return {}
        try:
            parsed = json.loads(body.decode("utf-8"))
        except ValueError:
            raise ApiError(
                400,
                "Invalid JSON payload received. Unexpected token.\n"
                + body[:40].decode("utf-8", "replace"),
            ) from None
        if not isinstance(parsed, dict):
            raise ApiError(400, "Invalid JSON payload received. Expected an object.")
        return parsed

    @staticmethod
    def _check_values(values: Any, where: str) -> list[list[Any]]:
        def invalid(at: str, value: Any) -> ApiError:
            text = json.dumps(value, ensure_ascii=False)
            message = (
                f"Invalid value at '{at}' (type.googleapis.com/google.protobuf.ListValue), {text}"
            )
            violation = {"field": at, "description": message}
            detail = {"@type": "type.googleapis.com/google.rpc.BadRequest",
                      "fieldViolations": [violation]}  # fmt: skip
            return ApiError(400, message, details=[detail])

        if values is None:
            return []
        if not isinstance(values, list):
            raise invalid(f"{where}.values", values)
        for i, row in enumerate(values):
            if not isinstance(row, list):
                raise invalid(f"{where}.values[{i}]", row)
            for j, value in enumerate(row):
                if isinstance(value, dict | list):
                    raise ApiError(400, f"Invalid {where}.values[{i}][{j}]: only scalar values")
        return values

    def _write_values(
        self, book: _Book, rng: _Range, values: list[list[Any]], option: str, major: str
    ) -> dict[str, Any]:
        if major == "COLUMNS":
            height = max((len(col) for col in values), default=0)
            values = [[col[i] if i < len(col) else None for col in values] for i in range(height)]
        n_rows = len(values)
        n_cols = max((len(row) for row in values), default=0)
        r0, _, c0, _ = rng.bounds()
        if not rng.anchor and rng.r1 is not None and rng.r1 - r0 < n_rows:
            raise ApiError(
                400,
                f"Requested writing within range [{rng.text}], but tried writing to row "
                f"[{r0 + n_rows}]",
            )
        if not rng.anchor and rng.c1 is not None and rng.c1 - c0 < n_cols:
            raise ApiError(
                400,
                f"Requested writing within range [{rng.text}], but tried writing to column "
                f"[{column_letter(c0 + n_cols - 1)}]",
            )
        self._check_grid(_Range(rng.sheet, r0, r0 + 1, c0, c0 + 1, rng.text), n_rows, n_cols)
        sheet = rng.sheet
        cells = 0
        for i, row in enumerate(values):
            for j, value in enumerate(row):
                if value is None:
                    continue
                key = (r0 + i, c0 + j)
                cell = sheet.cells.setdefault(key, _Cell())
                if option == "RAW":
                    cell.value = None if value == "" else value
                else:
                    cell.value = user_entered(value, cell, book.locale)
                if cell.empty():
                    del sheet.cells[key]
                cells += 1
        if not n_rows or not n_cols:
            return {"spreadsheetId": book.spreadsheet_id}
        out = {
            "spreadsheetId": book.spreadsheet_id,
            "updatedRange": quote_title(sheet.title)
            + "!"
            + a1_rect(r0, r0 + n_rows, c0, c0 + n_cols),
            "updatedRows": sum(1 for row in values if any(v is not None for v in row)),
            "updatedColumns": sum(
                1
                for j in range(n_cols)
                if any(j < len(row) and row[j] is not None for row in values)
            ),
            "updatedCells": cells,
        }
        return out

    def _input_option(self, value: Any) -> str:
        if value not in ("RAW", "USER_ENTERED"):
            raise ApiError(
                400, f"Invalid valueInputOption: {value or 'INPUT_VALUE_OPTION_UNSPECIFIED'}"
            )
        return str(value)

    def _values_update(self, book: _Book, query: Any, body: bytes, rng_text: str) -> Any:
        payload = self._body(body)
        values = self._check_values(payload.get("values"), "data")
        option = self._input_option((query.get("valueInputOption") or [None])[-1])
        major = payload.get("majorDimension") or "ROWS"
        rng = self._resolve(book, rng_text)
        out = self._write_values(book, rng, values, option, major)
        if (query.get("includeValuesInResponse") or ["false"])[
            -1
        ] == "true" and "updatedRange" in out:
            out["updatedData"] = self._response_values(book, out["updatedRange"], query, payload)
        self._touch(book)
        return self._json(out)

    def _response_values(
        self, book: _Book, updated: str, query: dict[str, Any], payload: dict[str, Any]
    ) -> dict[str, Any]:
        def pick(name: str, default: str) -> str:
            return str(payload.get(name) or (query.get(name) or [default])[-1])

        vro = pick("responseValueRenderOption", "FORMATTED_VALUE")
        dtro = pick("responseDateTimeRenderOption", "SERIAL_NUMBER")
        return self._value_range(book, self._resolve(book, updated), vro, dtro, "ROWS")

    def _values_batch_update(self, book: _Book, query: Any, body: bytes) -> Any:
        payload = self._body(body)
        option = self._input_option(payload.get("valueInputOption"))
        data = payload.get("data") or []
        if not isinstance(data, list):
            raise ApiError(400, "Invalid JSON payload received. 'data' must be a list.")
        work = copy.deepcopy(book)
        responses = []
        touched_rows: set[tuple[int, int]] = set()
        touched_cols: set[tuple[int, int]] = set()
        sheets: set[int] = set()
        for i, item in enumerate(data):
            values = self._check_values(item.get("values"), f"data[{i}]")
            rng = self._resolve(work, str(item.get("range", "")))
            out = self._write_values(
                work, rng, values, option, item.get("majorDimension") or "ROWS"
            )
            if "updatedRange" in out:
                r0, _, c0, _ = rng.bounds()
                sid = rng.sheet.sheet_id
                sheets.add(sid)
                for a, row in enumerate(values):
                    for b, value in enumerate(row):
                        if value is not None:
                            touched_rows.add((sid, r0 + a))
                            touched_cols.add((sid, c0 + b))
                if payload.get("includeValuesInResponse"):
                    out["updatedData"] = self._response_values(
                        work, out["updatedRange"], {}, payload
                    )
            responses.append(out)
        self._books[book.spreadsheet_id] = work
        self._touch(work)
        result: dict[str, Any] = {"spreadsheetId": book.spreadsheet_id}
        if responses:
            result.update(
                {
                    "totalUpdatedRows": len(touched_rows),
                    "totalUpdatedColumns": len(touched_cols),
                    "totalUpdatedCells": sum(r.get("updatedCells", 0) for r in responses),
                    "totalUpdatedSheets": len(sheets),
                    "responses": responses,
                }
            )
        return self._json(result)

    def _clear(self, rng: _Range) -> str:
        r0, r1, c0, c1 = rng.bounds()
        sheet = rng.sheet
        for key in [k for k in sheet.cells if r0 <= k[0] < r1 and c0 <= k[1] < c1]:
            sheet.cells[key].value = None
            if sheet.cells[key].empty():
                del sheet.cells[key]
        return quote_title(sheet.title) + "!" + a1_rect(r0, r1, c0, c1)

    def _values_clear(self, book: _Book, query: Any, body: bytes, rng_text: str) -> Any:
        cleared = self._clear(self._resolve(book, rng_text))
        self._touch(book)
        return self._json({"spreadsheetId": book.spreadsheet_id, "clearedRange": cleared})

    def _values_batch_clear(self, book: _Book, query: Any, body: bytes) -> Any:
        payload = self._body(body)
        ranges = [self._resolve(book, str(t)) for t in payload.get("ranges") or []]
        cleared = [self._clear(r) for r in ranges]
        self._touch(book)
        return self._json({"spreadsheetId": book.spreadsheet_id, "clearedRanges": cleared})

    # ------------------------------------------------------------ API: batchUpdate

    def _batch_update(self, book: _Book, query: Any, body: bytes) -> Any:
        payload = self._body(body)
        requests_ = payload.get("requests")
        if not isinstance(requests_, list) or not requests_:
            raise ApiError(400, "Invalid requests: at least one request is required.")
        work = copy.deepcopy(book)
        replies = []
        for i, request in enumerate(requests_):
            if not isinstance(request, dict) or len(request) != 1:
                raise ApiError(400, f"Invalid requests[{i}]: exactly one kind of request expected")
            ((name, args),) = request.items()
            handler = getattr(self, f"_req_{name}", None)
            if handler is None:
                raise ApiError(
                    501,
                    f"Invalid requests[{i}]: {name} is not implemented by the local test server",
                )
            if not isinstance(args, dict):
                raise ApiError(400, f"Invalid requests[{i}].{name}: expected an object")
            replies.append(handler(work, args, f"requests[{i}].{name}") or {})
        self._books[book.spreadsheet_id] = work
        self._touch(work)
        return self._json({"spreadsheetId": book.spreadsheet_id, "replies": replies})

    def _sheet_by_id(self, book: _Book, sid: Any, where: str) -> _Sheet:
        sheet = next((s for s in book.sheets if s.sheet_id == (sid or 0)), None)
        if sheet is None:
            raise ApiError(400, f"Invalid {where}: No grid with id: {sid or 0}")
        return sheet

    def _req_addSheet(self, book: _Book, args: dict[str, Any], where: str) -> dict[str, Any]:
        props = args.get("properties") or {}
        title = props.get("title")
        if title is None:
            n = len(book.sheets) + 1
            while any(s.title == f"Sheet{n}" for s in book.sheets):
                n += 1
            title = f"Sheet{n}"
        if any(s.title.lower() == str(title).lower() for s in book.sheets):
            raise ApiError(
                400,
                f'Invalid {where}: A sheet with the name "{title}" already exists. '
                "Please enter another name.",
            )
        sid = props.get("sheetId")
        if sid is None:
            sid = self._new_sheet_id(book)
        elif any(s.sheet_id == sid for s in book.sheets):
            raise ApiError(400, f"Invalid {where}: A sheet with the id {sid} already exists.")
        grid = props.get("gridProperties") or {}
        sheet = _Sheet(
            int(sid),
            str(title),
            int(grid.get("rowCount", DEFAULT_ROWS)),
            int(grid.get("columnCount", DEFAULT_COLS)),
            frozen_rows=int(grid.get("frozenRowCount", 0)),
            frozen_cols=int(grid.get("frozenColumnCount", 0)),
            hidden=bool(props.get("hidden", False)),
            tab_color=props.get("tabColor"),
        )
        index = props.get("index")
        book.sheets.insert(len(book.sheets) if index is None else int(index), sheet)
        return {"addSheet": {"properties": self._sheet_props(book, sheet)}}

    def _req_deleteSheet(self, book: _Book, args: dict[str, Any], where: str) -> None:
        sheet = self._sheet_by_id(book, args.get("sheetId"), where)
        if len([s for s in book.sheets if not s.hidden]) <= 1 and not sheet.hidden:
            raise ApiError(
                400, f"Invalid {where}: You can't remove all the visible sheets in a document."
            )
        book.sheets.remove(sheet)

    def _req_updateSheetProperties(self, book: _Book, args: dict[str, Any], where: str) -> None:
        given = args.get("properties") or {}
        sheet = self._sheet_by_id(book, given.get("sheetId"), where)
        try:
            tree = parse_mask(str(args.get("fields", "")))
        except ValueError as exc:
            raise ApiError(400, f"Invalid {where}: {exc}") from None
        if not args.get("fields"):
            raise ApiError(400, f"Invalid {where}: fields is required")
        props = self._sheet_props(book, sheet)
        mask_write(props, given, tree)
        grid = props.get("gridProperties") or {}
        title = props.get("title") or sheet.title
        if any(s is not sheet and s.title.lower() == title.lower() for s in book.sheets):
            raise ApiError(400, f'Invalid {where}: A sheet with the name "{title}" already exists.')
        rows, cols = int(grid.get("rowCount", 0)), int(grid.get("columnCount", 0))
        if rows < 1 or cols < 1:
            raise ApiError(400, f"Invalid {where}: a sheet needs at least one row and one column")
        sheet.title = title
        if rows < sheet.row_count:
            self._delete_dim(sheet, 0, rows, sheet.row_count)
        if cols < sheet.col_count:
            self._delete_dim(sheet, 1, cols, sheet.col_count)
        sheet.row_count, sheet.col_count = rows, cols
        sheet.frozen_rows = int(grid.get("frozenRowCount", 0))
        sheet.frozen_cols = int(grid.get("frozenColumnCount", 0))
        sheet.hidden = bool(props.get("hidden", False))
        sheet.tab_color = props.get("tabColor")
        if "index" in props and props["index"] != book.sheets.index(sheet):
            book.sheets.remove(sheet)
            book.sheets.insert(min(int(props["index"]), len(book.sheets)), sheet)

    def _req_updateSpreadsheetProperties(
        self, book: _Book, args: dict[str, Any], where: str
    ) -> None:
        tree = parse_mask(str(args.get("fields", "")))
        props = {"title": book.title, "locale": book.locale, "timeZone": book.time_zone,
                 "autoRecalc": book.auto_recalc}  # fmt: skip
        mask_write(props, args.get("properties") or {}, tree)
        book.title = props.get("title", book.title)
        book.locale = props.get("locale", book.locale)
        book.time_zone = props.get("timeZone", book.time_zone)
        book.auto_recalc = props.get("autoRecalc", book.auto_recalc)

    @staticmethod
    def _axis(dimension: Any, where: str) -> int:
        if dimension not in ("ROWS", "COLUMNS"):
            raise ApiError(400, f"Invalid {where}: dimension must be ROWS or COLUMNS")
        return 0 if dimension == "ROWS" else 1

    def _req_appendDimension(self, book: _Book, args: dict[str, Any], where: str) -> None:
        sheet = self._sheet_by_id(book, args.get("sheetId"), where)
        axis = self._axis(args.get("dimension"), where)
        length = int(args.get("length", 0))
        if length <= 0:
            raise ApiError(400, f"Invalid {where}: length must be positive")
        if axis == 0:
            sheet.row_count += length
        else:
            sheet.col_count += length

    def _dimension_range(
        self, book: _Book, args: dict[str, Any], where: str
    ) -> tuple[_Sheet, int, int, int]:
        rng = args.get("range") or {}
        sheet = self._sheet_by_id(book, rng.get("sheetId"), where)
        axis = self._axis(rng.get("dimension"), where)
        limit = sheet.row_count if axis == 0 else sheet.col_count
        start = int(rng.get("startIndex", 0))
        end = int(rng.get("endIndex", limit))
        if start < 0 or end <= start:
            raise ApiError(400, f"Invalid {where}: the range is invalid")
        return sheet, axis, start, end

    def _req_insertDimension(self, book: _Book, args: dict[str, Any], where: str) -> None:
        sheet, axis, start, end = self._dimension_range(book, args, where)
        limit = sheet.row_count if axis == 0 else sheet.col_count
        if start > limit:
            raise ApiError(400, f"Invalid {where}: the range is past the end of the sheet")
        inherit = bool(args.get("inheritFromBefore", False))
        if inherit and start == 0:
            raise ApiError(400, f"Invalid {where}: cannot inherit from before the first row")
        self._insert_dim(sheet, axis, start, end - start, inherit_before=inherit)

    def _req_deleteDimension(self, book: _Book, args: dict[str, Any], where: str) -> None:
        sheet, axis, start, end = self._dimension_range(book, args, where)
        try:
            self._delete_dim(sheet, axis, start, end)
        except ValueError as exc:
            raise ApiError(400, f"Invalid {where}: {exc}") from None

    def _req_updateDimensionProperties(self, book: _Book, args: dict[str, Any], where: str) -> None:
        sheet, axis, start, end = self._dimension_range(book, args, where)
        limit = sheet.row_count if axis == 0 else sheet.col_count
        if end > limit:
            raise ApiError(400, f"Invalid {where}: the range is past the end of the sheet")
        tree = parse_mask(str(args.get("fields", "")))
        props = args.get("properties") or {}
        for i in range(start, end):
            current = {"pixelSize": sheet.sizes[axis][i]} if i in sheet.sizes[axis] else {}
            mask_write(current, props, tree)
            if "pixelSize" in current:
                sheet.sizes[axis][i] = int(current["pixelSize"])
            else:
                sheet.sizes[axis].pop(i, None)

    def _cell_mask(self, args: dict[str, Any], where: str) -> dict[str, Any] | None:
        fields = args.get("fields")
        if not fields:
            raise ApiError(400, f"Invalid {where}: fields is required")
        try:
            return parse_mask(str(fields))
        except ValueError as exc:
            raise ApiError(400, f"Invalid {where}: {exc}") from None

    def _apply_cell(
        self, book: _Book, sheet: _Sheet, key: tuple[int, int], given: Any, tree: Any
    ) -> None:
        if not isinstance(given, dict):
            given = {}
        cell = sheet.cells.get(key) or _Cell()
        current: dict[str, Any] = {}
        if cell.value is not None:
            current["userEnteredValue"] = _extended(cell.value)
        if cell.fmt:
            current["userEnteredFormat"] = cell.fmt
        if cell.note:
            current["note"] = cell.note
        if cell.validation:
            current["dataValidation"] = cell.validation
        mask_write(current, given, tree)
        value = current.get("userEnteredValue") or {}
        if "formulaValue" in value:
            cell.value = {"formula": str(value["formulaValue"])}
        elif "numberValue" in value:
            cell.value = _num(value["numberValue"])
        elif "boolValue" in value:
            cell.value = bool(value["boolValue"])
        elif "stringValue" in value:
            cell.value = str(value["stringValue"]) or None
        else:
            cell.value = None
        fmt = current.get("userEnteredFormat") or {}
        if tree is None or "userEnteredFormat" in tree or "*" in tree:
            fmt_tree = None if tree is None or "*" in tree else tree["userEnteredFormat"]
            _sync_colors(fmt, given.get("userEnteredFormat") or {}, fmt_tree)
        cell.fmt = fmt
        cell.note = current.get("note") or None
        cell.validation = current.get("dataValidation") or None
        if cell.empty():
            sheet.cells.pop(key, None)
        else:
            sheet.cells[key] = cell

    def _req_updateCells(self, book: _Book, args: dict[str, Any], where: str) -> None:
        tree = self._cell_mask(args, where)
        rows = args.get("rows") or []
        if "range" in args:
            grid = args["range"] or {}
            sheet = self._sheet_by_id(book, grid.get("sheetId"), where)
            r0, r1, c0, c1 = self._grid_bounds(sheet, grid, where)
            for r in range(r0, r1):
                row = rows[r - r0] if r - r0 < len(rows) else {}
                values = (row or {}).get("values") or []
                for c in range(c0, c1):
                    given = values[c - c0] if c - c0 < len(values) else {}
                    self._apply_cell(book, sheet, (r, c), given, tree)
            return
        start = args.get("start") or {}
        sheet = self._sheet_by_id(book, start.get("sheetId"), where)
        r0, c0 = int(start.get("rowIndex", 0)), int(start.get("columnIndex", 0))
        height = len(rows)
        width = max((len((row or {}).get("values") or []) for row in rows), default=0)
        self._grid_bounds(
            sheet,
            {"startRowIndex": r0, "endRowIndex": r0 + height,
             "startColumnIndex": c0, "endColumnIndex": c0 + width},
            where,
        )  # fmt: skip
        for i, row in enumerate(rows):
            for j, given in enumerate((row or {}).get("values") or []):
                self._apply_cell(book, sheet, (r0 + i, c0 + j), given, tree)

    def _req_repeatCell(self, book: _Book, args: dict[str, Any], where: str) -> None:
        tree = self._cell_mask(args, where)
        grid = args.get("range") or {}
        sheet = self._sheet_by_id(book, grid.get("sheetId"), where)
        r0, r1, c0, c1 = self._grid_bounds(sheet, grid, where)
        given = args.get("cell") or {}
        for r in range(r0, r1):
            for c in range(c0, c1):
                self._apply_cell(book, sheet, (r, c), given, tree)

    def _req_mergeCells(self, book: _Book, args: dict[str, Any], where: str) -> None:
        grid = args.get("range") or {}
        sheet = self._sheet_by_id(book, grid.get("sheetId"), where)
        r0, r1, c0, c1 = self._grid_bounds(sheet, grid, where)
        kind = args.get("mergeType", "MERGE_ALL")
        if kind == "MERGE_ALL":
            blocks = [[r0, r1, c0, c1]]
        elif kind == "MERGE_ROWS":
            blocks = [[r, r + 1, c0, c1] for r in range(r0, r1)]
        elif kind == "MERGE_COLUMNS":
            blocks = [[r0, r1, c, c + 1] for c in range(c0, c1)]
        else:
            raise ApiError(400, f"Invalid {where}: unknown mergeType {kind}")
        for block in blocks:
            for m in sheet.merges:
                if block[0] < m[1] and m[0] < block[1] and block[2] < m[3] and m[2] < block[3]:
                    raise ApiError(
                        400, f"Invalid {where}: You can't merge cells that are already merged."
                    )
            for key in list(sheet.cells):
                inside = block[0] <= key[0] < block[1] and block[2] <= key[1] < block[3]
                if inside and key != (block[0], block[2]):
                    sheet.cells[key].value = None
                    if sheet.cells[key].empty():
                        del sheet.cells[key]
            if block[1] - block[0] > 1 or block[3] - block[2] > 1:
                sheet.merges.append(block)

    def _req_unmergeCells(self, book: _Book, args: dict[str, Any], where: str) -> None:
        grid = args.get("range") or {}
        sheet = self._sheet_by_id(book, grid.get("sheetId"), where)
        r0, r1, c0, c1 = self._grid_bounds(sheet, grid, where)
        sheet.merges = [
            m for m in sheet.merges if not (r0 <= m[0] and m[1] <= r1 and c0 <= m[2] and m[3] <= c1)
        ]

    def _req_setDataValidation(self, book: _Book, args: dict[str, Any], where: str) -> None:
        grid = args.get("range") or {}
        sheet = self._sheet_by_id(book, grid.get("sheetId"), where)
        r0, r1, c0, c1 = self._grid_bounds(sheet, grid, where)
        rule = args.get("rule")
        for r in range(r0, r1):
            for c in range(c0, c1):
                cell = sheet.cells.setdefault((r, c), _Cell())
                cell.validation = copy.deepcopy(rule) if rule else None
                if cell.empty():
                    del sheet.cells[(r, c)]

    def _req_autoResizeDimensions(self, book: _Book, args: dict[str, Any], where: str) -> None:
        return None

    # ------------------------------------------------------------ Drive (minimal)

    def _drive_handler(self, method: str, file_id: str) -> Callable[..., Any] | None:
        def not_found() -> ApiError:
            message = f"File not found: {file_id}."
            return drive_error(404, message, location=("fileId", "parameter"))

        def handle(method_: str, path: str, query: Any, body: bytes, headers: Any) -> Any:
            if not self.drive_enabled:
                raise self._drive_disabled()
            name = {"GET": "Get", "POST": "Create", "DELETE": "Delete"}[method]
            self._drive_scopes(headers, write=method != "GET", method=name)
            if method == "POST" and not file_id:
                payload = self._body(body)
                mime = payload.get("mimeType", SPREADSHEET_MIME)
                if mime != SPREADSHEET_MIME:
                    raise ApiError(501, "only Google Sheets files can be created here")
                new_id = "1" + secrets.token_urlsafe(32)[:43]
                name = str(payload.get("name", "Untitled spreadsheet"))
                self.add_spreadsheet(new_id, name, {"Sheet1": []}, locale=self.locale)
                return self._json(
                    {"kind": "drive#file", "id": new_id, "name": name, "mimeType": SPREADSHEET_MIME}
                )
            book = self._books.get(file_id)
            if book is None or book.access == "none":
                raise not_found()
            if method == "GET":
                full = {
                    "kind": "drive#file",
                    "id": book.spreadsheet_id,
                    "name": book.title,
                    "mimeType": SPREADSHEET_MIME,
                    "createdTime": book.created,
                    "modifiedTime": book.modified,
                }
                fields = (query.get("fields") or [None])[-1]
                if fields is None:
                    out = {k: full[k] for k in ("kind", "id", "name", "mimeType")}
                else:
                    out = mask_read(full, parse_mask(fields))
                return self._json(out)
            if method == "DELETE":
                if book.access != "writer":
                    raise drive_error(
                        403, "The user does not have sufficient permissions for this file.",
                        reason="insufficientFilePermissions",
                    )  # fmt: skip
                del self._books[file_id]
                return 204, {"Content-Type": "text/html"}, b""
            raise ApiError(501, f"Drive {method} is not implemented by the local test server")

        if method not in ("GET", "POST", "DELETE"):
            return None
        return handle


def iter_cells(grid: list[list[Any]]) -> Iterator[tuple[int, int, Any]]:
    """(row, column, value) of the non-empty cells of a grid from ``SheetsServer.values``."""
    for r, row in enumerate(grid):
        for c, value in enumerate(row):
            if value is not None:
                yield r, c, value


__all__ = [
    "KINDS",
    "ApiError",
    "CellInfo",
    "Fault",
    "Hook",
    "LoggedRequest",
    "SheetsServer",
    "a1_rect",
    "column_index",
    "column_letter",
    "drive_error",
    "format_date",
    "format_number",
    "from_serial",
    "iter_cells",
    "parse_cell",
    "quote_title",
    "rfc3339",
    "to_serial",
]
