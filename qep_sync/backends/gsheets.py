"""Google Sheets backend: a service's trackers in a spreadsheet, read and written through gspread.

Calls per spreadsheet and sync, whatever the number of rows: one metadata call and one
``values:batchGet`` to read every tab, then one Drive ``files.get`` for the spreadsheet's own
modified time (``last_change``; when Drive does not answer, the sheet is still read and its time
is unknown); when something changed, one ``values:batchGet`` of the rows' anchor columns (to
make sure nobody inserted, deleted or sorted rows meanwhile) and one write:
``values:batchUpdate`` (RAW: a text starting with « = » stays text), or, when owned columns are
added, one ``spreadsheets:batchUpdate`` that adds them, styles them and sets the values
together. Every request, the Drive one included, has a timeout and bounded retries with
exponential backoff and jitter that honour ``Retry-After`` (gspread's BackOffHTTPClient never
gives up). With another base URL (tests, proxies), Drive calls go to that same base.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote as url_quote

import gspread
import requests
from google.auth.exceptions import GoogleAuthError
from google.auth.transport.requests import AuthorizedSession
from google.oauth2 import service_account
from gspread.exceptions import APIError
from gspread.http_client import HTTPClient

from qep_sync import env
from qep_sync.cells import a1, column_letter, to_serial
from qep_sync.config import Google
from qep_sync.core.contract import SheetData, SheetPatch, SkippedWrite
from qep_sync.errors import SourceError, WriteBackError

GOOGLE_API = "https://sheets.googleapis.com"
DRIVE_HOST = "https://www.googleapis.com"
DRIVE_FILES = DRIVE_HOST + "/drive/v3/files"
SCOPES = [
    "https://www.googleapis.com/auth/spreadsheets",
    # files.get of the spreadsheet's modifiedTime, nothing more (gspread's default is all of Drive)
    "https://www.googleapis.com/auth/drive.metadata.readonly",
]
RETRYABLE = {408, 429, 500, 502, 503, 504}
RATE_LIMITED = {"rateLimitExceeded", "userRateLimitExceeded"}  # Drive's 403 that means 429
DRIVE_PARAMS = {"fields": "modifiedTime", "supportsAllDrives": "true"}
READ = {"valueRenderOption": "UNFORMATTED_VALUE", "dateTimeRenderOption": "SERIAL_NUMBER"}
METADATA_FIELDS = (
    "spreadsheetId,properties(title,timeZone),"
    "sheets(properties(sheetId,title,index,sheetType,gridProperties(rowCount,columnCount)))"
)
HEADER_BACKGROUND = {"red": 0.886, "green": 0.937, "blue": 0.855}  # the .xlsx header's pale green
HEADER_TEXT = {"red": 0.216, "green": 0.337, "blue": 0.137}
PIXELS_PER_WIDTH = 7


log = logging.getLogger(__name__)

# ---------------------------------------------------------------- transport


class BaseUrlSession(AuthorizedSession):
    """An authorised session that sends Sheets API calls to another base URL (tests, proxies),
    and Drive API calls to that same base (``{base}/drive/v3/...``)."""

    def __init__(self, credentials: Any, base: str) -> None:
        super().__init__(credentials)
        self.base = base.rstrip("/")

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        if self.base != GOOGLE_API:
            if url.startswith(GOOGLE_API):
                url = self.base + url[len(GOOGLE_API) :]
            elif url.startswith(DRIVE_HOST + "/drive/"):
                url = self.base + url[len(DRIVE_HOST) :]
        return super().request(method, url, *args, **kwargs)


@dataclass
class RetryPolicy:
    """Bounded retries: exponential backoff with jitter, ``Retry-After`` honoured but capped."""

    max_retries: int = 4
    backoff: float = 1.0
    max_backoff: float = 32.0
    sleep: Callable[[float], None] = time.sleep
    calls: int = 0  # HTTP requests sent, retries included

    def delay(self, attempt: int, retry_after: str | None) -> float:
        if retry_after:
            try:
                return min(float(retry_after), self.max_backoff)
            except ValueError:
                pass  # an HTTP date: fall back to our own backoff
        return min(self.backoff * 2**attempt, self.max_backoff) * random.uniform(0.5, 1.0)


class RetryingHTTPClient(HTTPClient):
    """gspread's HTTP client with a bounded retry on 429, 5xx, timeouts and lost connections."""

    policy = RetryPolicy()

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:
        attempt = 0
        while True:
            self.policy.calls += 1
            try:
                return super().request(*args, **kwargs)
            except APIError as exc:
                status = exc.response.status_code
                if not _retryable(status, exc) or attempt >= self.policy.max_retries:
                    raise
                wait = self.policy.delay(attempt, exc.response.headers.get("Retry-After"))
            except (requests.Timeout, requests.ConnectionError):
                if attempt >= self.policy.max_retries:
                    raise
                wait = self.policy.delay(attempt, None)
            attempt += 1
            self.policy.sleep(wait)


def _retryable(status: int, exc: APIError) -> bool:
    """429, 5xx...; and Drive's 403 whose reason is a rate limit (its way of saying 429)."""
    if status in RETRYABLE:
        return True
    errors = exc.error.get("errors") if isinstance(exc.error, Mapping) else None
    return (
        status == 403
        and isinstance(errors, list)
        and any(isinstance(e, Mapping) and e.get("reason") in RATE_LIMITED for e in errors)
    )


def _client(google: Google, sleep: Callable[[float], None] | None) -> gspread.Client:
    variable = google.credentials_env
    key_path = env.variable(variable)
    if not key_path:
        raise _Unreadable(
            f"variable d'environnement {variable} absente : elle doit contenir le chemin du "
            "fichier de clé du compte de service Google (voir docs/exploitation.md, « Google Sheets »)"
        )
    try:
        credentials = service_account.Credentials.from_service_account_file(key_path, scopes=SCOPES)
    except FileNotFoundError:
        raise _Unreadable(
            f"fichier de clé introuvable ({variable} = {key_path}) : vérifiez le chemin"
        ) from None
    except (OSError, ValueError, KeyError) as exc:
        raise _Unreadable(
            f"fichier de clé du compte de service illisible ({variable}) : {type(exc).__name__}"
        ) from None
    base = env.variable(env.SHEETS_API_VARIABLE) or google.api_base
    client = gspread.Client(
        credentials, session=BaseUrlSession(credentials, base), http_client=RetryingHTTPClient
    )
    http = client.http_client
    assert isinstance(http, RetryingHTTPClient)
    http.policy = RetryPolicy(
        google.max_retries, google.backoff_seconds, google.max_backoff_seconds, sleep or time.sleep
    )
    http.set_timeout(google.timeout_seconds)
    client.service_account = credentials.service_account_email  # type: ignore[attr-defined]
    return client


class _Unreadable(Exception):
    """Why a spreadsheet cannot be reached; becomes a SourceError with the source's label."""


def _explain(exc: Exception, account: str) -> str:
    """A French reason for an API or transport failure, without secrets."""
    if isinstance(exc, APIError):
        status = exc.response.status_code
        message = str(exc.error.get("message", "")).strip()[:200]
        if status == 403:
            return (
                f"accès refusé par Google (403) : partagez la feuille avec le compte de service "
                f"{account} (droit « Éditeur » pour que qep-sync écrive ses colonnes)"
            )
        if status == 404:
            return "feuille Google introuvable (404) : vérifiez la clé ou l'adresse dans la configuration"
        if status == 429:
            return "quota de requêtes Google dépassé (429), malgré les nouvelles tentatives"
        if status == 401:
            return "authentification Google refusée (401) : vérifiez le fichier de clé"
        detail = f" : {message}" if message and not message.startswith("<") else ""
        return f"erreur de l'API Google Sheets ({status}){detail}"
    if isinstance(exc, requests.Timeout):
        return "Google Sheets ne répond pas (délai dépassé), malgré les nouvelles tentatives"
    if isinstance(exc, requests.ConnectionError):
        return "Google Sheets injoignable (connexion impossible), malgré les nouvelles tentatives"
    if isinstance(exc, GoogleAuthError):
        return f"authentification Google impossible : {type(exc).__name__} (vérifiez le fichier de clé)"
    return f"échange avec Google Sheets impossible ({type(exc).__name__})"


_FAILURES = (APIError, requests.RequestException, GoogleAuthError, ValueError)


# ---------------------------------------------------------------- reading


def quote(title: str) -> str:
    """A sheet title as the A1 notation wants it: 'Plan d''actions'."""
    return "'" + title.replace("'", "''") + "'"


@dataclass
class _Tab:
    sheet_id: int
    title: str
    rows: int
    columns: int


@dataclass
class SpreadsheetData:
    """What was read from one spreadsheet, and the client to write it back."""

    key: str
    label: str
    title: str
    sheets: list[SheetData]
    client: gspread.Client
    tabs: dict[str, _Tab]
    modified: dt.datetime | None = None  # Drive's modifiedTime as read (aware, UTC)
    calls_before_write: int = 0

    @property
    def calls(self) -> int:
        """HTTP requests sent for this spreadsheet so far (retries included)."""
        http = self.client.http_client
        return http.policy.calls if isinstance(http, RetryingHTTPClient) else 0

    def percent_cells(self, sheet: SheetData) -> set[tuple[int, int]]:
        return set()  # UNFORMATTED_VALUE gives 0.5 for 50 %: §3.1 rule 10 reads it right

    def last_change(self) -> dt.datetime | None:
        """The spreadsheet's own modified time when it was read (Drive), None if Drive failed."""
        return self.modified

    def write(self, patches: list[SheetPatch]) -> list[str]:
        return write_spreadsheet(self, patches)


def read_spreadsheet(
    key: str, label: str, google: Google, *, sleep: Callable[[float], None] | None = None
) -> SpreadsheetData:
    """Every tab of a spreadsheet in two calls; SourceError with a French reason on failure."""
    try:
        client = _client(google, sleep)
    except _Unreadable as exc:
        raise SourceError(label, str(exc)) from None
    account = getattr(client, "service_account", "du compte de service")
    http = client.http_client
    try:
        meta = http.fetch_sheet_metadata(key, params={"fields": METADATA_FIELDS})
        tabs = {}
        for sheet in meta.get("sheets", []):
            props = sheet.get("properties", {})
            if props.get("sheetType", "GRID") != "GRID":
                continue
            grid = props.get("gridProperties", {})
            tab = _Tab(int(props.get("sheetId", 0)), props.get("title", ""),
                       int(grid.get("rowCount", 0)), int(grid.get("columnCount", 0)))  # fmt: skip
            tabs[tab.title] = tab
        ranges = [quote(title) for title in tabs]
        values = http.values_batch_get(key, ranges, params=dict(READ)) if ranges else {}
    except _FAILURES as exc:
        raise SourceError(label, _explain(exc, account)) from None
    sheets = []
    for tab, block in zip(tabs.values(), values.get("valueRanges", []), strict=False):
        rows = [list(r) for r in block.get("values", [])]
        sheets.append(SheetData(tab.title, rows, str(tab.sheet_id)))
    title = meta.get("properties", {}).get("title", key)
    modified = _modified_time(http, key, label)
    data = SpreadsheetData(key, label, title, sheets, client, tabs, modified)
    data.calls_before_write = data.calls
    return data


def _modified_time(http: HTTPClient, key: str, label: str) -> dt.datetime | None:
    """The spreadsheet's modifiedTime from Drive ``files.get``, in one call (retries aside).

    Never fails the read: the sheet's data matter more than its time. On any failure (the
    Drive API not enabled in the project, 404, timeout after the retries, an odd answer) a
    warning without secret or traceback, and None.
    """
    url = f"{DRIVE_FILES}/{url_quote(key, safe='')}"
    try:
        answer = http.request("get", url, params=dict(DRIVE_PARAMS)).json()
        text = answer.get("modifiedTime") if isinstance(answer, dict) else None
        moment = dt.datetime.fromisoformat(text) if isinstance(text, str) else None
        if moment is None or moment.tzinfo is None:
            raise ValueError("modifiedTime absent or without a time zone")
        return moment.astimezone(dt.UTC)
    except Exception as exc:  # gspread's APIError itself raises KeyError/TypeError on odd bodies
        log.warning(
            "%s : date de dernière modification inconnue (%s) ; la feuille est lue sans elle",
            label, _drive_reason(exc),
        )  # fmt: skip
        return None


def _drive_reason(exc: Exception) -> str:
    """Why Drive gave no modified time, in French, without secrets."""
    if isinstance(exc, APIError):
        status = exc.response.status_code
        if _retryable(status, exc):
            return f"erreur de l'API Google Drive ({status}), malgré les nouvelles tentatives"
        errors = exc.error.get("errors") if isinstance(exc.error, Mapping) else None
        first = errors[0] if isinstance(errors, list) and errors else None
        reason = first.get("reason") if isinstance(first, Mapping) else None
        if status == 403 and reason == "accessNotConfigured":
            return "l'API Google Drive n'est pas activée dans le projet du compte de service (403)"
        if status == 403 and reason == "insufficientPermissions":
            return "la clé n'a pas la portée Drive demandée (403)"
        if status == 403:
            return (
                "API Google Drive : accès refusé (403), vérifiez qu'elle est activée dans le "
                "projet du compte de service"
            )
        if status == 404:
            return "API Google Drive : fichier introuvable (404)"
        if status == 401:
            return "API Google Drive : authentification refusée (401)"
        return f"erreur de l'API Google Drive ({status})"
    if isinstance(exc, requests.Timeout):
        return "l'API Google Drive ne répond pas (délai dépassé), malgré les nouvelles tentatives"
    if isinstance(exc, requests.ConnectionError):
        return "API Google Drive injoignable, malgré les nouvelles tentatives"
    if isinstance(exc, GoogleAuthError):
        return f"authentification Google impossible : {type(exc).__name__}"
    return f"réponse de l'API Google Drive illisible ({type(exc).__name__})"


# ---------------------------------------------------------------- writing


def _anchor_ranges(patch: SheetPatch) -> list[str]:
    return [f"{quote(patch.title)}!{column_letter(c)}:{column_letter(c)}" for c in patch.anchors]


def _rows_moved(data: SpreadsheetData, patches: list[SheetPatch]) -> set[str]:
    """Titles of tabs whose anchor columns changed since the read (rows inserted, sorted...)."""
    ranges = [r for p in patches for r in _anchor_ranges(p)]
    if not ranges:
        return set()
    fresh = data.client.http_client.values_batch_get(
        data.key, ranges, params={**READ, "majorDimension": "COLUMNS"}
    )
    blocks: Iterator[dict[str, Any]] = iter(fresh.get("valueRanges", []))
    moved = set()
    for patch in patches:
        for before in patch.anchors.values():
            block = next(blocks, {})
            now = list((block.get("values") or [[]])[0])
            while now and now[-1] in ("", None):
                now.pop()
            if now != before:
                moved.add(patch.title)
    return moved


def _cell_value(value: Any) -> Any:
    """A value for values:batchUpdate (RAW): dates as serial numbers, None as empty."""
    if value is None:
        return ""
    if isinstance(value, dt.date):
        return to_serial(value)
    return value


def _cell_data(value: Any) -> dict[str, Any]:
    """A value as CellData for updateCells."""
    if value is None:
        return {}
    if isinstance(value, bool):
        return {"userEnteredValue": {"boolValue": value}}
    if isinstance(value, dt.date):
        return {"userEnteredValue": {"numberValue": to_serial(value)}}
    if isinstance(value, int | float):
        return {"userEnteredValue": {"numberValue": value}}
    return {"userEnteredValue": {"stringValue": str(value)}}


def _runs(cells: Mapping[tuple[int, int], Any]) -> Iterable[tuple[int, int, list[Any]]]:
    """Cells grouped in horizontal runs: (row, first column, values)."""
    by_row: dict[int, dict[int, Any]] = {}
    for (row, col), value in cells.items():
        by_row.setdefault(row, {})[col] = value
    for row in sorted(by_row):
        cols = sorted(by_row[row])
        start = prev = cols[0]
        values = [by_row[row][start]]
        for col in cols[1:]:
            if col != prev + 1:
                yield row, start, values
                start, values = col, []
            values.append(by_row[row][col])
            prev = col
        yield row, start, values


def _all_cells(patch: SheetPatch) -> dict[tuple[int, int], Any]:
    cells = dict(patch.cells)
    for col, title in patch.headers.items():
        cells[(patch.header_row, col)] = title
    return cells


def _structure_requests(tab: _Tab, patch: SheetPatch, last_row: int) -> list[dict[str, Any]]:
    """New columns: grid growth, header style, date format, widths, and every value."""
    sid = tab.sheet_id
    requests_: list[dict[str, Any]] = []
    cells = _all_cells(patch)
    needed = max(c for _, c in cells) + 1
    if needed > tab.columns:
        requests_.append({"appendDimension": {"sheetId": sid, "dimension": "COLUMNS",
                                              "length": needed - tab.columns}})  # fmt: skip
        tab.columns = needed
    for col in patch.headers:
        requests_.append({"repeatCell": {
            "range": {"sheetId": sid, "startRowIndex": patch.header_row - 1,
                      "endRowIndex": patch.header_row, "startColumnIndex": col,
                      "endColumnIndex": col + 1},
            "cell": {"userEnteredFormat": {
                "backgroundColor": HEADER_BACKGROUND, "wrapStrategy": "WRAP",
                "textFormat": {"bold": True, "foregroundColor": HEADER_TEXT}}},
            "fields": "userEnteredFormat(backgroundColor,textFormat,wrapStrategy)"}})  # fmt: skip
        if col in patch.date_columns:
            requests_.append({"repeatCell": {
                "range": {"sheetId": sid, "startRowIndex": patch.header_row,
                          "endRowIndex": max(last_row, patch.header_row + 1),
                          "startColumnIndex": col, "endColumnIndex": col + 1},
                "cell": {"userEnteredFormat": {"numberFormat": {"type": "DATE",
                                                                "pattern": "dd/mm/yyyy"}}},
                "fields": "userEnteredFormat.numberFormat"}})  # fmt: skip
    for col, width in patch.widths.items():
        requests_.append({"updateDimensionProperties": {
            "range": {"sheetId": sid, "dimension": "COLUMNS", "startIndex": col,
                      "endIndex": col + 1},
            "properties": {"pixelSize": int(width * PIXELS_PER_WIDTH)},
            "fields": "pixelSize"}})  # fmt: skip
    for row, start, values in _runs(cells):
        requests_.append({"updateCells": {
            "start": {"sheetId": sid, "rowIndex": row - 1, "columnIndex": start},
            "rows": [{"values": [_cell_data(v) for v in values]}],
            "fields": "userEnteredValue"}})  # fmt: skip
    return requests_


def write_spreadsheet(data: SpreadsheetData, patches: list[SheetPatch]) -> list[str]:
    """Write owned cells in at most two calls; tabs whose rows moved are skipped with a warning."""
    patches = [p for p in patches if p.changed]
    if not patches:
        return []
    http = data.client.http_client
    account = getattr(data.client, "service_account", "du compte de service")
    try:
        moved = _rows_moved(data, patches)
        warnings = [
            f"onglet « {t} » : des lignes ont été insérées, supprimées ou triées pendant la "
            "synchronisation ; rien n'y est écrit ce passage, nouvel essai au prochain"
            for t in sorted(moved)
        ]
        todo = [p for p in patches if p.title not in moved]
        if not todo:
            raise SkippedWrite(" ; ".join(warnings))
        if any(p.headers for p in todo):
            requests_: list[dict[str, Any]] = []
            for p in todo:
                last_row = max((row for row, _ in p.cells), default=p.header_row)
                requests_ += _structure_requests(data.tabs[p.title], p, last_row)
            http.batch_update(data.key, {"requests": requests_})
        else:
            body = {
                "valueInputOption": "RAW",
                "data": [
                    {"range": f"{quote(p.title)}!{a1(row, start)}:{a1(row, start + len(vs) - 1)}",
                     "values": [[_cell_value(v) for v in vs]]}
                    for p in todo for row, start, vs in _runs(p.cells)
                ],
            }  # fmt: skip
            http.values_batch_update(data.key, body)
    except SkippedWrite:
        raise
    except _FAILURES as exc:
        raise WriteBackError(f"{data.label} : {_explain(exc, account)}") from None
    return warnings
