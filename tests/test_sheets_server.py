"""The local Google Sheets test server: real gspread calls over HTTP, and a replay of recorded
Google traffic (``tests/data/google-sheets-api``) compared with what it answers."""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from google.auth.exceptions import RefreshError
from gsheet_helpers import (
    CLIENT_EMAIL,
    LocalGoogle,
    LocalSession,
    client_for,
    credentials_for,
    local_google,
    make_service_account_key,
)
from gspread.exceptions import APIError, SpreadsheetNotFound
from sheets_server import SheetsServer, parse_cell, quote_title, to_serial

REFERENCE = Path(__file__).resolve().parent / "data" / "google-sheets-api"
READ = {"valueRenderOption": "UNFORMATTED_VALUE", "dateTimeRenderOption": "SERIAL_NUMBER"}
KEY = "1qEpSyNcTeStSpReAdShEeTkEy0000000000000000"
PLAN = "Plan d'actions"


@pytest.fixture
def google(tmp_path: Path) -> Iterator[LocalGoogle]:
    with local_google(tmp_path) as g:
        g.server.add_spreadsheet(
            KEY,
            "Suivi qualité — Accueil",
            {
                "Délais": [
                    ["N°", "Date", "Taux", "Fait", "Commentaire"],
                    ["D1", dt.date(2024, 1, 1), 0.5, True, "ok"],
                    [],
                    ["D3", dt.date(2026, 11, 26), 12, False],
                ],
                PLAN: [["N° action", "Échéance"], ["A1", dt.date(2027, 3, 1)]],
            },
            frozen_rows={"Délais": 1},
            notes={"Délais": {"A1": "identifiant"}},
        )
        yield g


# ---------------------------------------------------------------- reading


def test_open_by_key_gives_metadata(google: LocalGoogle) -> None:
    sh = google.client.open_by_key(KEY)
    assert sh.title == "Suivi qualité — Accueil"
    assert (sh.locale, sh.timezone) == ("fr_FR", "Europe/Paris")
    sheets = sh.worksheets()
    assert [w.title for w in sheets] == ["Délais", PLAN]
    assert sheets[0].id == 0 and sheets[1].id > 0
    assert (sheets[0].row_count, sheets[0].col_count, sheets[0].frozen_row_count) == (1000, 26, 1)
    assert google.server.counts["token"] == 1  # one token, reused
    assert google.server.counts["metadata"] == 2  # open_by_key, worksheets()


def test_metadata_fields_mask(google: LocalGoogle) -> None:
    fields = "spreadsheetId,properties(title,timeZone),sheets(properties(sheetId,title,gridProperties(rowCount)))"
    meta = google.client.http_client.fetch_sheet_metadata(KEY, params={"fields": fields})
    assert meta == {
        "spreadsheetId": KEY,
        "properties": {"title": "Suivi qualité — Accueil", "timeZone": "Europe/Paris"},
        "sheets": [
            {"properties": {"sheetId": 0, "title": "Délais", "gridProperties": {"rowCount": 1000}}},
            {
                "properties": {
                    "sheetId": google.server.sheet_properties(KEY, PLAN)["sheetId"],
                    "title": PLAN,
                    "gridProperties": {"rowCount": 1000},
                }
            },
        ],
    }


def test_batch_get_follows_google_conventions(google: LocalGoogle) -> None:
    sh = google.client.open_by_key(KEY)
    ranges = ["'Délais'", "'Plan d''actions'!A1:B", "Délais!B2:C4", "'Délais'!A:A"]
    got = sh.values_batch_get(ranges, params=dict(READ))
    assert google.server.counts["batchGet"] == 1
    blocks = got["valueRanges"]
    assert [b["range"] for b in blocks] == [
        "Délais!A1:Z1000",  # a bare title: the whole grid
        "'Plan d''actions'!A1:B1000",  # quoted, '' doubled; open end clipped to the grid
        "Délais!B2:C4",
        "Délais!A1:A1000",
    ]
    assert all(b["majorDimension"] == "ROWS" for b in blocks)
    serial = to_serial(dt.date(2024, 1, 1))
    assert serial == 45292
    assert blocks[0]["values"] == [
        ["N°", "Date", "Taux", "Fait", "Commentaire"],
        ["D1", 45292, 0.5, True, "ok"],
        [],  # an empty row inside the range
        ["D3", to_serial(dt.date(2026, 11, 26)), 12, False],  # trailing empty cells dropped
    ]
    assert isinstance(blocks[0]["values"][3][2], int)  # 12, not 12.0
    assert blocks[1]["values"] == [["N° action", "Échéance"], ["A1", 46447]]
    assert blocks[2]["values"] == [[45292, 0.5], [], [46352, 12]]
    assert blocks[3]["values"] == [["N°"], ["D1"], [], ["D3"]]


def test_formatted_values_use_the_locale(google: LocalGoogle) -> None:
    sh = google.client.open_by_key(KEY)
    got = sh.values_batch_get(["Délais!A2:D2"])["valueRanges"][0]["values"]
    assert got == [["D1", "01/01/2024", "0,5", "VRAI"]]
    params = {"valueRenderOption": "UNFORMATTED_VALUE", "dateTimeRenderOption": "FORMATTED_STRING"}
    got = sh.values_batch_get(["Délais!A2:D2"], params=params)["valueRanges"][0]["values"]
    assert got == [["D1", "01/01/2024", 0.5, True]]


def test_columns_major_dimension(google: LocalGoogle) -> None:
    sh = google.client.open_by_key(KEY)
    params = {**READ, "majorDimension": "COLUMNS"}
    got = sh.values_batch_get(["'Délais'!A:A", "'Délais'!E:E", "'Délais'!F:F"], params=params)
    blocks = got["valueRanges"]
    assert blocks[0]["values"] == [["N°", "D1", "", "D3"]]
    assert blocks[1]["values"] == [["Commentaire", "ok"]]
    assert "values" not in blocks[2]  # nothing there: no values key at all


def test_bad_ranges_answer_400(google: LocalGoogle) -> None:
    sh = google.client.open_by_key(KEY)
    with pytest.raises(APIError) as err:
        sh.values_batch_get(["'Nope'!A1"])
    assert err.value.code == 400
    assert err.value.error == {
        "code": 400,
        "message": "Unable to parse range: 'Nope'!A1",
        "status": "INVALID_ARGUMENT",
    }
    with pytest.raises(APIError, match=r"exceeds grid limits\. Max rows: 1000, max columns: 26"):
        sh.values_batch_get(["'Délais'!A1:AA2"])


# ---------------------------------------------------------------- writing


def test_values_batch_update_raw_and_user_entered(google: LocalGoogle) -> None:
    sh = google.client.open_by_key(KEY)
    body = {
        "valueInputOption": "RAW",
        "data": [
            {"range": "'Délais'!F1:G1", "values": [["Relance", "Formule"]]},
            {"range": "'Délais'!F2:G2", "values": [[to_serial(dt.date(2024, 2, 1)), "=1+1"]]},
        ],
    }
    answer = sh.values_batch_update(body)
    assert answer == {
        "spreadsheetId": KEY,
        "totalUpdatedRows": 2,
        "totalUpdatedColumns": 2,
        "totalUpdatedCells": 4,
        "totalUpdatedSheets": 1,
        "responses": [
            {"spreadsheetId": KEY, "updatedRange": "Délais!F1:G1", "updatedRows": 1,
             "updatedColumns": 2, "updatedCells": 2},
            {"spreadsheetId": KEY, "updatedRange": "Délais!F2:G2", "updatedRows": 1,
             "updatedColumns": 2, "updatedCells": 2},
        ],
    }  # fmt: skip
    grid = google.server.values(KEY, "Délais")
    assert grid[1][5:7] == [45323, "=1+1"]  # RAW: a text, never a formula
    sh.values_batch_update(
        {"valueInputOption": "USER_ENTERED", "data": [{"range": "Délais!G3", "values": [["=1+1"]]}]}
    )
    assert google.server.values(KEY, "Délais")[2][6] == {"formula": "=1+1"}
    read = sh.values_batch_get(["Délais!G2:G3"], params=dict(READ))["valueRanges"][0]
    assert read["values"] == [["=1+1"], [2]]
    formulas = sh.values_batch_get(["Délais!G3"], params={"valueRenderOption": "FORMULA"})
    assert formulas["valueRanges"][0]["values"] == [["=1+1"]]


def test_writes_are_checked_against_the_grid_and_range(google: LocalGoogle) -> None:
    sh = google.client.open_by_key(KEY)
    beyond = {"valueInputOption": "RAW", "data": [{"range": "'Délais'!Z2:AA2", "values": [[1, 2]]}]}
    with pytest.raises(APIError) as err:
        sh.values_batch_update(beyond)
    assert err.value.code == 400
    assert "('Délais'!Z2:AA2) exceeds grid limits. Max rows: 1000, max columns: 26" in str(
        err.value
    )
    too_wide = {
        "valueInputOption": "RAW",
        "data": [{"range": "Délais!F2:G2", "values": [[1, 2, 3]]}],
    }
    with pytest.raises(APIError, match=re.escape("but tried writing to column [H]")):
        sh.values_batch_update(too_wide)
    no_option = {"data": [{"range": "Délais!F2", "values": [[1]]}]}
    with pytest.raises(APIError, match="INPUT_VALUE_OPTION_UNSPECIFIED"):
        sh.values_batch_update(no_option)
    # atomic: the first range of a failing batch is not written either
    mixed = {"valueInputOption": "RAW", "data": [{"range": "Délais!F2", "values": [["x"]]},
                                                  {"range": "Nope!A1", "values": [["y"]]}]}  # fmt: skip
    with pytest.raises(APIError):
        sh.values_batch_update(mixed)
    assert google.server.cell(KEY, "Délais", "F2").value is None
    # once the columns exist, the write goes through
    sh.batch_update(
        {"requests": [{"appendDimension": {"sheetId": 0, "dimension": "COLUMNS", "length": 2}}]}
    )
    sh.values_batch_update(beyond)
    assert google.server.values(KEY, "Délais")[1][25:27] == [1, 2]
    assert google.server.sheet_properties(KEY, "Délais")["gridProperties"]["columnCount"] == 28


def test_batch_update_formats_notes_and_structure(google: LocalGoogle) -> None:
    sh = google.client.open_by_key(KEY)
    green = {"red": 0.886, "green": 0.937, "blue": 0.855}
    requests_ = [
        {"appendDimension": {"sheetId": 0, "dimension": "COLUMNS", "length": 1}},
        {"repeatCell": {
            "range": {"sheetId": 0, "startRowIndex": 0, "endRowIndex": 1,
                      "startColumnIndex": 26, "endColumnIndex": 27},
            "cell": {"userEnteredFormat": {"backgroundColor": green, "wrapStrategy": "WRAP",
                                           "textFormat": {"bold": True}}},
            "fields": "userEnteredFormat(backgroundColor,textFormat,wrapStrategy)"}},
        {"repeatCell": {
            "range": {"sheetId": 0, "startRowIndex": 1, "endRowIndex": 4,
                      "startColumnIndex": 26, "endColumnIndex": 27},
            "cell": {"userEnteredFormat": {"numberFormat": {"type": "DATE", "pattern": "dd/mm/yyyy"}}},
            "fields": "userEnteredFormat.numberFormat"}},
        {"updateCells": {
            "start": {"sheetId": 0, "rowIndex": 0, "columnIndex": 26},
            "rows": [{"values": [{"userEnteredValue": {"stringValue": "=Relance"}}]},
                     {"values": [{"userEnteredValue": {"numberValue": 45323}}]}],
            "fields": "userEnteredValue"}},
        {"updateCells": {
            "range": {"sheetId": 0, "startRowIndex": 1, "endRowIndex": 2,
                      "startColumnIndex": 1, "endColumnIndex": 2},
            "rows": [{"values": [{"note": "date de dépôt"}]}], "fields": "note"}},
        {"updateSheetProperties": {"properties": {"sheetId": 0, "gridProperties": {"frozenRowCount": 2}},
                                   "fields": "gridProperties.frozenRowCount"}},
        {"updateDimensionProperties": {
            "range": {"sheetId": 0, "dimension": "COLUMNS", "startIndex": 26, "endIndex": 27},
            "properties": {"pixelSize": 140}, "fields": "pixelSize"}},
    ]  # fmt: skip
    answer = sh.batch_update({"requests": requests_})
    assert answer == {"spreadsheetId": KEY, "replies": [{}] * len(requests_)}
    server = google.server
    header = server.cell(KEY, "Délais", "AA1")
    assert header.value == "=Relance"  # stringValue: a text, not a formula
    assert header.format == {
        "backgroundColor": green,
        "backgroundColorStyle": {"rgbColor": green},  # mirrored, as Google does
        "wrapStrategy": "WRAP",
        "textFormat": {"bold": True},
    }
    assert server.cell(KEY, "Délais", "AA2").value == dt.date(2024, 2, 1)
    assert server.format(KEY, "Délais", "AA4")["numberFormat"]["pattern"] == "dd/mm/yyyy"
    assert server.note(KEY, "Délais", "B2") == "date de dépôt"
    assert server.note(KEY, "Délais", "A1") == "identifiant"
    assert server.column_width(KEY, "Délais", "AA") == 140
    props = server.sheet_properties(KEY, "Délais")["gridProperties"]
    assert props == {"rowCount": 1000, "columnCount": 27, "frozenRowCount": 2}
    shown = sh.values_batch_get(["Délais!AA2"])["valueRanges"][0]["values"]
    assert shown == [["01/02/2024"]]
    ws = sh.worksheet("Délais")
    assert ws.get_note("B2") == "date de dépôt"  # spreadsheets.get with a fields mask
    assert ws.get_note("C2") == ""


def test_batch_update_is_atomic_and_reports_unknown_requests(google: LocalGoogle) -> None:
    sh = google.client.open_by_key(KEY)
    bold = {"repeatCell": {"range": {"sheetId": 0, "endRowIndex": 1},
                           "cell": {"userEnteredFormat": {"textFormat": {"bold": True}}},
                           "fields": "userEnteredFormat.textFormat.bold"}}  # fmt: skip
    with pytest.raises(APIError, match=r"Invalid requests\[1\].deleteSheet: No grid with id: 42"):
        sh.batch_update({"requests": [bold, {"deleteSheet": {"sheetId": 42}}]})
    assert google.server.format(KEY, "Délais", "A1") == {}
    with pytest.raises(APIError) as err:
        sh.batch_update({"requests": [{"addBanding": {}}]})
    assert err.value.code == 501
    assert "not implemented by the local test server" in err.value.error["message"]
    beyond = {"repeatCell": {"range": {"sheetId": 0, "startColumnIndex": 26, "endColumnIndex": 27},
                             "cell": {}, "fields": "userEnteredFormat"}}  # fmt: skip
    with pytest.raises(APIError, match="exceeds grid limits"):
        sh.batch_update({"requests": [beyond]})


# ---------------------------------------------------------------- errors and faults


def test_unknown_and_private_spreadsheets(google: LocalGoogle) -> None:
    with pytest.raises(SpreadsheetNotFound):
        google.client.open_by_key("no-such-spreadsheet")
    google.server.set_access(KEY, "none")
    with pytest.raises(PermissionError) as err:  # gspread raises the builtin, from an APIError
        google.client.open_by_key(KEY)
    cause = err.value.__cause__
    assert isinstance(cause, APIError) and cause.code == 403
    assert cause.error["message"] == "The caller does not have permission"
    assert cause.error["status"] == "PERMISSION_DENIED"
    google.server.set_access(KEY, "reader")
    sh = google.client.open_by_key(KEY)
    sh.values_batch_get(["Délais"])
    with pytest.raises(APIError) as write_err:
        sh.values_batch_update({"valueInputOption": "RAW", "data": []})
    assert write_err.value.code == 403


def test_429_with_retry_after_then_success(google: LocalGoogle) -> None:
    sh = google.client.open_by_key(KEY)
    fault = google.server.fail_next("batchGet", 429, times=2, retry_after=7)
    for _ in range(2):
        with pytest.raises(APIError) as err:
            sh.values_batch_get(["Délais"])
        assert err.value.code == 429
        assert err.value.response.headers["Retry-After"] == "7"
        assert err.value.error["status"] == "RESOURCE_EXHAUSTED"
        assert "Read requests per minute per user" in err.value.error["message"]
    assert fault.remaining == 0 and fault.fired == 2
    assert sh.values_batch_get(["Délais"])["valueRanges"][0]["values"][0][0] == "N°"
    assert google.server.counts["batchGet"] == 3  # faulted requests are counted too


@pytest.mark.parametrize("status", [500, 503])
def test_server_errors_in_google_format(google: LocalGoogle, status: int) -> None:
    google.server.fail_next(r"/values:batchUpdate$", status)
    sh = google.client.open_by_key(KEY)
    with pytest.raises(APIError) as err:
        sh.values_batch_update({"valueInputOption": "RAW", "data": []})
    assert err.value.code == status
    assert err.value.error["status"] == {500: "INTERNAL", 503: "UNAVAILABLE"}[status]


def test_non_json_error_body(google: LocalGoogle) -> None:
    google.server.fail_next("metadata", 502)  # a front end's HTML page, as Google's proxies send
    with pytest.raises(APIError) as err:
        google.client.open_by_key(KEY)
    assert err.value.code == -1  # gspread's marker for an unparsable error body
    assert err.value.error["status"].startswith("invalid JSON")
    assert err.value.response.status_code == 502
    google.server.fail_next("metadata", 500, body="<html><body>oops</body></html>")
    with pytest.raises(APIError) as err2:
        google.client.open_by_key(KEY)
    assert err2.value.error["message"] == "<html><body>oops</body></html>"


def test_slow_answer_and_client_timeout(google: LocalGoogle) -> None:
    sh = google.client.open_by_key(KEY)
    google.client.set_timeout(0.3)
    google.server.fail_next("valuesBatchUpdate", None, delay=0.8)
    body = {"valueInputOption": "RAW", "data": [{"range": "Délais!F2", "values": [["late"]]}]}
    started = time.monotonic()
    with pytest.raises(requests.exceptions.ReadTimeout):
        sh.values_batch_update(body)
    assert time.monotonic() - started < 0.8
    # the server still processes it afterwards: a lost answer, not a lost write
    deadline = time.monotonic() + 3
    while google.server.cell(KEY, "Délais", "F2").value is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert google.server.cell(KEY, "Délais", "F2").value == "late"


def test_stop_is_prompt_with_a_request_in_flight(tmp_path: Path) -> None:
    server = SheetsServer(require_auth=False).start()
    server.add_spreadsheet("k", "t", {"S": [["a"]]})
    server.fail_next("metadata", 503, delay=30)
    with requests.Session() as session:
        with pytest.raises(requests.exceptions.ReadTimeout):
            session.get(server.url + "/v4/spreadsheets/k", timeout=0.2)
        started = time.monotonic()
        server.stop()
        assert time.monotonic() - started < 2


def test_unknown_paths_and_unimplemented_methods(google: LocalGoogle) -> None:
    session = google.session
    missing = session.get("https://sheets.googleapis.com/v5/nothing")
    assert missing.status_code == 404 and missing.headers["Content-Type"].startswith("text/html")
    append = session.post(
        f"https://sheets.googleapis.com/v4/spreadsheets/{KEY}/values/A1:append", json={}
    )
    assert append.status_code == 501
    assert append.json()["error"]["status"] == "UNIMPLEMENTED"


# ---------------------------------------------------------------- authentication


def test_api_calls_need_a_bearer_token(google: LocalGoogle) -> None:
    with requests.Session() as session:
        bare = session.get(f"{google.server.url}/v4/spreadsheets/{KEY}")
        forged = session.get(
            f"{google.server.url}/v4/spreadsheets/{KEY}", headers={"Authorization": "Bearer x"}
        )
    assert bare.status_code == 401
    assert bare.json()["error"]["status"] == "UNAUTHENTICATED"
    assert bare.json()["error"]["message"].startswith("Request is missing required authentication")
    assert bare.headers["WWW-Authenticate"].startswith("Bearer")
    assert forged.status_code == 401
    assert forged.json()["error"]["message"].startswith("Request had invalid authentication")


def test_token_request_is_a_real_jwt_grant(google: LocalGoogle) -> None:
    google.client.open_by_key(KEY)
    index = google.server.kinds.index("token")
    grant = google.server.requests[index]
    assert (grant.method, grant.path) == ("POST", "/token")
    assert grant.body["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
    header, claims, _ = grant.body["assertion"].split(".")
    decoded = json.loads(_b64(claims))
    assert decoded["iss"] == CLIENT_EMAIL
    assert decoded["aud"] == "https://oauth2.googleapis.com/token"  # google-auth's fixed audience
    assert "https://www.googleapis.com/auth/spreadsheets" in decoded["scope"].split()
    assert json.loads(_b64(header))["alg"] == "RS256"


def _b64(text: str) -> bytes:
    import base64

    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def test_expired_token_is_refreshed_by_the_session(google: LocalGoogle) -> None:
    sh = google.client.open_by_key(KEY)
    google.server.expire_tokens()
    sh.values_batch_get(["Délais"])
    assert google.server.counts["token"] == 2
    assert google.server.counts["batchGet"] == 2  # the 401, then the retry


def test_unregistered_or_wrong_keys_are_refused(tmp_path: Path) -> None:
    with SheetsServer() as server:
        key_path = tmp_path / "key.json"
        make_service_account_key(key_path, server.token_uri)  # not registered
        client = client_for(server, key_path)
        try:
            with pytest.raises(
                RefreshError, match="invalid_grant: Invalid grant: account not found"
            ):
                client.open_by_key(KEY)
            other = rsa.generate_private_key(public_exponent=65537, key_size=1024)
            server.register_key(CLIENT_EMAIL, other.public_key())
            with pytest.raises(RefreshError, match="Invalid JWT Signature"):
                client.open_by_key(KEY)
        finally:
            client.http_client.session.close()
        assert server.counts["metadata"] == 0


def test_read_only_scope_cannot_write(tmp_path: Path) -> None:
    scopes = ["https://www.googleapis.com/auth/spreadsheets.readonly"]
    with local_google(tmp_path, scopes=scopes) as g:
        g.server.add_spreadsheet(KEY, "t", {"S": [["a"]]})
        sh = g.client.open_by_key(KEY)
        with pytest.raises(APIError) as err:
            sh.values_batch_update({"valueInputOption": "RAW", "data": []})
        assert err.value.code == 403
        assert err.value.error["message"] == "Request had insufficient authentication scopes."


# ---------------------------------------------------------------- people editing meanwhile


def test_hook_inserts_a_row_just_before_the_write(google: LocalGoogle) -> None:
    server = google.server
    sh = google.client.open_by_key(KEY)
    hook = server.on_request("valuesBatchUpdate", lambda _req: server.insert_rows(KEY, "Délais", 2))
    sh.values_batch_update(
        {"valueInputOption": "RAW", "data": [{"range": "Délais!E2", "values": [["vu"]]}]}
    )
    assert hook.calls == 1 and hook.remaining == 0
    grid = server.values(KEY, "Délais")
    assert grid[1][0] is None and grid[1][4] == "vu"  # the write landed on the new row...
    assert grid[2][:5] == ["D1", dt.date(2024, 1, 1), 0.5, True, "ok"]  # ...D1 moved down
    assert server.sheet_properties(KEY, "Délais")["gridProperties"]["rowCount"] == 1001
    sh.values_batch_update({"valueInputOption": "RAW", "data": []})
    assert hook.calls == 1  # times=1


def test_python_side_edits(google: LocalGoogle) -> None:
    server = google.server
    server.set_cell(KEY, "Délais", "E4", "à voir", format={"textFormat": {"bold": True}}, note="n")
    server.set_cell(KEY, "Délais", "B5", dt.date(2025, 5, 5))
    server.set_values(KEY, "Délais", "A5", [["D0"]])
    server.sort_rows(KEY, "Délais", "A")
    grid = server.values(KEY, "Délais")
    assert [row[0] for row in grid] == ["N°", "D0", "D1", "D3"]  # the empty row sorts last
    assert grid[1][1] == dt.date(2025, 5, 5)
    assert server.note(KEY, "Délais", "E4") == "n"  # D3's row moved with its note and format
    assert server.format(KEY, "Délais", "E4") == {"textFormat": {"bold": True}}
    server.delete_rows(KEY, "Délais", 2)
    assert [row[0] for row in server.values(KEY, "Délais")] == ["N°", "D1", "D3"]
    server.insert_columns(KEY, "Délais", "A")
    assert server.values(KEY, "Délais")[0][:2] == [None, "N°"]
    assert server.note(KEY, "Délais", "B1") == "identifiant"
    server.rename_sheet(KEY, "Délais", "Délais 2026")
    assert server.sheet_titles(KEY) == ["Délais 2026", PLAN]


def test_drive_create_and_delete(google: LocalGoogle) -> None:
    sh = google.client.create("Nouveau suivi")
    assert sh.sheet1.title == "Sheet1" and (sh.sheet1.row_count, sh.sheet1.col_count) == (1000, 26)
    assert sh.id in google.server.spreadsheet_ids()
    assert sh.get_lastUpdateTime().endswith("Z")
    google.client.del_spreadsheet(sh.id)
    assert sh.id not in google.server.spreadsheet_ids()


# ---------------------------------------------------------------- Drive files.get (modifiedTime)

DRIVE = "https://www.googleapis.com/drive/v3/files"
MODIFIED = {"fields": "modifiedTime", "supportsAllDrives": "true"}
EDITED = dt.datetime(2026, 11, 2, 9, 15, 30, 123456, tzinfo=dt.UTC)


def test_drive_files_get_gives_the_modified_time_asked_for(google: LocalGoogle) -> None:
    google.server.set_modified(KEY, EDITED)  # a person's edit in the browser
    answer = google.session.get(f"{DRIVE}/{KEY}", params=MODIFIED)
    assert answer.status_code == 200
    assert answer.json() == {"modifiedTime": "2026-11-02T09:15:30.123Z"}  # fields honoured, ms
    assert google.server.modified_time(KEY) == EDITED.replace(microsecond=123000)
    logged = google.server.requests[-1]
    assert google.server.kinds[-1] == "drive" and google.server.count("drive") == 1
    assert (logged.method, logged.path) == ("GET", f"/drive/v3/files/{KEY}")
    assert logged.query == {"fields": ["modifiedTime"], "supportsAllDrives": ["true"]}
    full = google.session.get(f"{DRIVE}/{KEY}", params={"fields": "id,name,createdTime"}).json()
    assert full.keys() == {"id", "name", "createdTime"} and full["name"].startswith("Suivi")
    with pytest.raises(ValueError, match="aware"):
        google.server.set_modified(KEY, dt.datetime(2026, 11, 2, 9, 15))


def test_every_write_moves_the_modified_time_to_the_servers_clock(google: LocalGoogle) -> None:
    server = google.server
    now = [dt.datetime(2026, 11, 26, 8, 0, tzinfo=dt.UTC)]
    server.clock = lambda: now[0]
    server.set_modified(KEY, EDITED)
    sh = google.client.open_by_key(KEY)
    sh.values_batch_get(["Délais"])
    assert server.modified_time(KEY) == EDITED.replace(microsecond=123000)  # reads change nothing
    sh.values_batch_update(
        {"valueInputOption": "RAW", "data": [{"range": "Délais!F2", "values": [["x"]]}]}
    )
    assert server.modified_time(KEY) == now[0]
    now[0] += dt.timedelta(minutes=5)
    sh.batch_update({"requests": [{"appendDimension": {"sheetId": 0, "dimension": "COLUMNS",
                                                       "length": 1}}]})  # fmt: skip
    assert server.modified_time(KEY) == now[0]
    now[0] += dt.timedelta(minutes=5)
    with pytest.raises(APIError):  # refused as a whole: nothing changed, nor the time
        sh.batch_update({"requests": [{"appendDimension": {"sheetId": 99, "length": 1,
                                                           "dimension": "ROWS"}}]})  # fmt: skip
    assert server.modified_time(KEY) == now[0] - dt.timedelta(minutes=5)
    server.set_cell(KEY, "Délais", "B2", "tapé à la main")  # a person, through the helpers
    assert server.modified_time(KEY) == now[0]
    answer = google.session.get(f"{DRIVE}/{KEY}", params=MODIFIED).json()
    assert answer == {"modifiedTime": "2026-11-26T08:10:00.000Z"}


@pytest.mark.parametrize("access", ["missing", "none"])
def test_drive_404_has_drives_error_shape(google: LocalGoogle, access: str) -> None:
    file_id = "no-such-file" if access == "missing" else KEY
    if access == "none":
        google.server.set_access(KEY, "none")  # not shared with the account: Drive says 404
    answer = google.session.get(f"{DRIVE}/{file_id}", params=MODIFIED)
    assert answer.status_code == 404
    message = f"File not found: {file_id}."
    assert answer.json() == {"error": {
        "code": 404, "message": message,
        "errors": [{"message": message, "domain": "global", "reason": "notFound",
                    "location": "fileId", "locationType": "parameter"}],
    }}  # fmt: skip
    with pytest.raises(APIError) as err:  # as gspread reports it
        google.client.get_file_drive_metadata(file_id)
    assert err.value.code == 404 and err.value.error["errors"][0]["reason"] == "notFound"


def test_drive_scopes(tmp_path: Path) -> None:
    sheets_only = ["https://www.googleapis.com/auth/spreadsheets"]
    with local_google(tmp_path, scopes=sheets_only) as g:
        g.server.add_spreadsheet(KEY, "t", {"S": [["a"]]})
        answer = g.session.get(f"{DRIVE}/{KEY}", params=MODIFIED)
        assert answer.status_code == 403
        error = answer.json()["error"]
        assert error["message"] == "Request had insufficient authentication scopes."
        assert error["status"] == "PERMISSION_DENIED"
        assert error["errors"][0]["reason"] == "insufficientPermissions"
        assert error["details"][0]["reason"] == "ACCESS_TOKEN_SCOPE_INSUFFICIENT"
    metadata_only = [*sheets_only, "https://www.googleapis.com/auth/drive.metadata.readonly"]
    with local_google(tmp_path, scopes=metadata_only) as g:
        g.server.add_spreadsheet(KEY, "t", {"S": [["a"]]})
        assert g.session.get(f"{DRIVE}/{KEY}", params=MODIFIED).status_code == 200
        refused = g.session.delete(f"{DRIVE}/{KEY}")  # reading metadata is all it allows
        assert refused.status_code == 403 and KEY in g.server.spreadsheet_ids()


def test_drive_api_not_enabled_in_the_project(google: LocalGoogle) -> None:
    google.server.drive_enabled = False
    answer = google.session.get(f"{DRIVE}/{KEY}", params=MODIFIED)
    assert answer.status_code == 403
    error = answer.json()["error"]
    assert error["message"].startswith("Google Drive API has not been used in project")
    assert error["errors"][0]["reason"] == "accessNotConfigured"
    assert error["errors"][0]["domain"] == "usageLimits"
    assert google.client.open_by_key(KEY).title  # Sheets itself still answers


def test_drive_faults_answer_in_drives_shape(google: LocalGoogle) -> None:
    google.server.fail_next("drive", 503, retry_after=3)
    answer = google.session.get(f"{DRIVE}/{KEY}", params=MODIFIED)
    assert answer.status_code == 503 and answer.headers["Retry-After"] == "3"
    error = answer.json()["error"]
    assert error["errors"][0]["reason"] == "backendError" and error["status"] == "UNAVAILABLE"
    assert google.session.get(f"{DRIVE}/{KEY}", params=MODIFIED).status_code == 200
    assert google.server.count("drive") == 2  # the faulted one is counted too


def test_a1_helpers() -> None:
    assert parse_cell("AA10") == (9, 26)
    assert quote_title("Sheet1") == "Sheet1"
    assert quote_title("Plan d'actions") == "'Plan d''actions'"
    assert quote_title("A1") == "'A1'"
    assert to_serial(dt.datetime(2024, 1, 1, 12)) == 45292.5


# ---------------------------------------------------------------- recorded Google traffic

VOLATILE = {"createdTime", "modifiedTime"}  # times of the recording vs now
CASSETTES = sorted(p.name for p in REFERENCE.glob("*.json"))


def _differences(expected: Any, actual: Any, path: str = "$") -> list[str]:
    """Where two JSON documents differ: keys, JSON types, lengths, values (volatile keys: type)."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{path}: object expected, got {type(actual).__name__}"]
        out = [f"{path}.{k}: missing" for k in expected.keys() - actual.keys()]
        out += [f"{path}.{k}: unexpected" for k in actual.keys() - expected.keys()]
        for k in expected.keys() & actual.keys():
            out += _differences(expected[k], actual[k], f"{path}.{k}")
        return out
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return [f"{path}: array expected, got {type(actual).__name__}"]
        out = [f"{path}: {len(expected)} items expected, got {len(actual)}"]
        out = out if len(expected) != len(actual) else []
        for i, (e, a) in enumerate(zip(expected, actual, strict=False)):
            out += _differences(e, a, f"{path}[{i}]")
        return out

    def kind(v: Any) -> str:
        return (
            "number" if isinstance(v, int | float) and not isinstance(v, bool) else type(v).__name__
        )

    if kind(expected) != kind(actual):
        return [f"{path}: {kind(expected)} expected, got {kind(actual)} {actual!r}"]
    if expected != actual and path.rsplit(".", 1)[-1] not in VOLATILE:
        return [f"{path}: {expected!r} expected, got {actual!r}"]
    return []


def _map_ids(obj: Any, ids: dict[str, str], sheet_ids: dict[int, int]) -> Any:
    text = json.dumps(obj, ensure_ascii=False)
    for old, new in ids.items():
        text = text.replace(old, new)

    def walk(o: Any) -> Any:
        if isinstance(o, dict):
            return {k: sheet_ids.get(v, v) if k == "sheetId" else walk(v) for k, v in o.items()}
        if isinstance(o, list):
            return [walk(x) for x in o]
        return o

    return walk(json.loads(text))


def replay(cassette: Path, key_dir: Path) -> list[tuple[int, str, str, list[str]]]:
    """Replay every recorded request at a fresh server (Drive creation included, ids mapped)
    and compare each answer with the recorded one: (index, method, uri, differences)."""
    interactions = json.loads(cassette.read_text(encoding="utf-8"))["interactions"]
    created = {
        json.loads(it["response"]["body"]["string"])["id"]
        for it in interactions
        if it["request"]["method"] == "POST" and "/drive/v3/files?" in it["request"]["uri"]
    }
    results = []
    with SheetsServer(locale="en_US", time_zone="Etc/GMT") as server:
        for it in interactions:  # a spreadsheet the recording could not open: not shared
            m = re.match(
                r"https://sheets\.googleapis\.com/v4/spreadsheets/([^/?:]+)", it["request"]["uri"]
            )
            if m and m.group(1) not in created and it["response"]["status"]["code"] == 403:
                server.add_spreadsheet(m.group(1), "private", {"Sheet1": []}, access="none")
        key_path = key_dir / f"{cassette.stem}.json"
        make_service_account_key(key_path, server=server)
        ids: dict[str, str] = {}
        sheet_ids: dict[int, int] = {}
        with LocalSession(server.url, credentials_for(key_path)) as session:
            for index, it in enumerate(interactions):
                request, recorded = it["request"], it["response"]
                uri = request["uri"]
                for old, new in ids.items():
                    uri = uri.replace(old, new)
                body = request.get("body")
                data = None
                if body:
                    data = json.dumps(_map_ids(json.loads(body), ids, sheet_ids)).encode()
                headers = {"Content-Type": "application/json"} if data else {}
                answer = session.request(request["method"], uri, data=data, headers=headers)
                text = recorded["body"]["string"]
                expected = json.loads(text) if text else None
                actual = answer.json() if answer.content else None
                problems = []
                if answer.status_code != recorded["status"]["code"]:
                    problems.append(f"status {answer.status_code} != {recorded['status']['code']}")
                if isinstance(expected, dict) and isinstance(actual, dict):
                    if "/drive/v3/files?" in request["uri"] and request["method"] == "POST":
                        ids[expected["id"]] = actual["id"]
                    replies = zip(
                        expected.get("replies", []), actual.get("replies", []), strict=False
                    )
                    for old, new in replies:
                        if "addSheet" in old and "addSheet" in new:
                            old_id = old["addSheet"]["properties"]["sheetId"]
                            sheet_ids[old_id] = new["addSheet"]["properties"]["sheetId"]
                    expected = _map_ids(expected, ids, sheet_ids)
                problems += _differences(expected, actual)
                results.append((index, request["method"], request["uri"], problems))
    return results


def test_the_recorded_traffic_ships_with_the_tests() -> None:
    assert len(CASSETTES) >= 20, f"recorded Google traffic missing from {REFERENCE}"


@pytest.mark.parametrize("name", CASSETTES)
def test_answers_match_recorded_google_traffic(name: str, tmp_path: Path) -> None:
    results = replay(REFERENCE / name, tmp_path)
    assert results
    differing = [r for r in results if r[3]]
    assert not differing, "\n".join(f"#{i} {m} {u}: {p[:5]}" for i, m, u, p in differing)
