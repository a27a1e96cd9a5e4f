"""Google Sheets sources: few API calls, credentials, faults and retries, a demo service.

Everything goes over real HTTP to the local Sheets-API-compatible server (tests/sheets_server.py)
through qep-sync's own path: key file named by an environment variable, token from the key's
token_uri, gspread, base URL from the config.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
import pytest
import python_calamine
import requests
from click.testing import CliRunner
from conftest import TODAY
from gsheet_helpers import CLIENT_EMAIL, make_service_account_key
from sheets_server import SheetsServer

from qep_sync.backends import gsheets
from qep_sync.backends.gsheets import read_spreadsheet
from qep_sync.cli import main
from qep_sync.config import Config, Google, load_config, parse_config
from qep_sync.errors import SourceError
from qep_sync.jobs.check import run_check
from qep_sync.jobs.sync import run_sync

KEY = "1qepSyncGoogleBackendSpreadsheet01"
OTHER = "1qepSyncGoogleBackendSpreadsheet02"
KEY_ENV = "QEP_TEST_GOOGLE_KEY"
HEADER = ["N°", "Canal", "Date de réception", "Date de réponse", "Objet"]


def letters(n: int) -> list[list[Any]]:
    start = dt.date(2026, 1, 5)
    rows: list[list[Any]] = [HEADER]
    for i in range(n):
        received = start + dt.timedelta(days=i % 300)
        replied = received + dt.timedelta(days=3) if i % 4 else None
        rows.append([f"C{i + 1}", "Courriel" if i % 3 else "Courrier", received, replied, "Objet"])
    rows.append(["R1", "Courriel", TODAY - dt.timedelta(days=1), None, "Reçu hier"])  # En attente
    return rows


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SheetsServer]:
    with SheetsServer() as srv:
        key_path = tmp_path / "cle.json"
        make_service_account_key(key_path, server=srv)
        monkeypatch.setenv(KEY_ENV, str(key_path))
        monkeypatch.delenv("QEP_SYNC_SHEETS_API", raising=False)
        yield srv


def google_config(server: SheetsServer, tmp_path: Path, *keys: str, **google: Any) -> Config:
    raw = {
        "sources": [{"service": f"S{i}", "name": f"Service {i}", "gsheet": k}
                    for i, k in enumerate(keys or (KEY,), start=1)],
        "google": {"credentials_env": KEY_ENV, "api_base": server.url, "backoff_seconds": 0.01,
                   "max_backoff_seconds": 0.05, **google},
    }  # fmt: skip
    return parse_config(raw, tmp_path)


def api_calls(server: SheetsServer) -> int:
    return sum(n for kind, n in server.counts.items() if kind != "token")


@pytest.mark.parametrize("rows", [50, 2000])
def test_calls_per_spreadsheet_do_not_grow_with_the_rows(
    server: SheetsServer, tmp_path: Path, rows: int
) -> None:
    server.add_spreadsheet(KEY, "Délais BRCIE", {"Délais": letters(rows)})
    config = google_config(server, tmp_path)
    server.reset_log()
    first = run_sync(config, TODAY)
    assert first.writes[0].status == "written"
    assert server.kinds.count("metadata") == 1 and server.kinds.count("batchGet") == 2
    assert server.count("batchUpdate") == 1 and server.count("valuesBatchUpdate") == 0
    assert server.count("drive") == 1  # the spreadsheet's modified time, once per read
    assert api_calls(server) == 5  # read 3 (with Drive), re-check 1, one write adding columns

    server.reset_log()
    later = run_sync(config, TODAY + dt.timedelta(days=10))  # R1 now late: values only
    assert later.writes[0].status == "written"
    assert server.count("valuesBatchUpdate") == 1 and server.count("batchUpdate") == 0
    assert api_calls(server) == 5
    body = next(r.body for r in server.requests if r.path.endswith("values:batchUpdate"))
    assert body["valueInputOption"] == "RAW"  # never a formula

    server.reset_log()
    again = run_sync(config, TODAY + dt.timedelta(days=10))
    assert again.writes[0].status == "unchanged"
    assert api_calls(server) == 3  # a sync with nothing to change makes no write call
    assert [k for k in server.kinds if k != "token"] == ["metadata", "batchGet", "drive"]


def test_new_columns_get_the_header_style_and_a_date_format(
    server: SheetsServer, tmp_path: Path
) -> None:
    server.add_spreadsheet(KEY, "Délais BRCIE", {"Délais": letters(5)})
    run_sync(google_config(server, tmp_path), TODAY)
    assert server.values(KEY, "Délais")[0][5:] == [
        "Date limite de réponse", "Délai (jours ouvrés)", "Dans le délai", "Statut", "Contrôle",
    ]  # fmt: skip
    header = server.format(KEY, "Délais", "F1")
    assert header["textFormat"]["bold"] is True and "backgroundColor" in header
    assert server.format(KEY, "Délais", "F2")["numberFormat"]["type"] == "DATE"
    assert server.values(KEY, "Délais")[1][5] == dt.date(2026, 1, 26)  # Courrier: 15 days
    assert server.column_width(KEY, "Délais", "J") > server.column_width(KEY, "Délais", "G")


def test_missing_credentials_variable_is_a_clear_error_and_other_sources_go_on(
    server: SheetsServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(KEY_ENV)
    server.add_spreadsheet(KEY, "Délais", {"Délais": letters(3)})
    report = run_check(google_config(server, tmp_path), TODAY).report
    assert report.sources[0].error is not None
    assert f"variable d'environnement {KEY_ENV} absente" in report.sources[0].error


def test_unreadable_or_missing_key_file_is_a_clear_error(
    server: SheetsServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_ENV, str(tmp_path / "absente.json"))
    report = run_check(google_config(server, tmp_path), TODAY).report
    assert "fichier de clé introuvable" in (report.sources[0].error or "")
    bad = tmp_path / "cassee.json"
    bad.write_text("{pas du json", encoding="utf-8")
    monkeypatch.setenv(KEY_ENV, str(bad))
    report = run_check(google_config(server, tmp_path), TODAY).report
    assert "illisible" in (report.sources[0].error or "")
    assert "pas du json" not in (report.sources[0].error or "")


def test_a_sheet_not_shared_names_the_service_account_and_missing_sheet_says_404(
    server: SheetsServer, tmp_path: Path
) -> None:
    server.add_spreadsheet(KEY, "Privée", {"Délais": letters(3)}, access="none")
    report = run_check(google_config(server, tmp_path, KEY, OTHER), TODAY).report
    private, missing = report.sources
    assert "403" in (private.error or "") and CLIENT_EMAIL in (private.error or "")
    assert "introuvable (404)" in (missing.error or "")


def test_read_only_share_fails_the_write_with_a_french_message(
    server: SheetsServer, tmp_path: Path
) -> None:
    server.add_spreadsheet(KEY, "Lecture seule", {"Délais": letters(3)}, access="reader")
    run = run_sync(google_config(server, tmp_path), TODAY)
    assert run.writes[0].status == "failed"
    assert "partagez la feuille" in run.writes[0].message
    assert server.values(KEY, "Délais")[0] == HEADER  # nothing written


def test_429_with_retry_after_is_waited_for_as_asked(server: SheetsServer) -> None:
    server.add_spreadsheet(KEY, "Délais", {"Délais": letters(3)})
    server.fail_next("batchGet", 429, retry_after=2)
    waits: list[float] = []
    google = Google(credentials_env=KEY_ENV, api_base=server.url, backoff_seconds=0.01,
                    max_backoff_seconds=60)  # fmt: skip
    data = read_spreadsheet(KEY, "Délais", google, sleep=waits.append)
    assert waits == [2.0]  # Retry-After, not our 10 ms backoff
    assert data.sheets[0].rows[0] == HEADER


def test_5xx_and_non_json_errors_are_retried_with_growing_bounded_waits(
    server: SheetsServer,
) -> None:
    server.add_spreadsheet(KEY, "Délais", {"Délais": letters(3)})
    server.fail_next("metadata", 500)
    server.fail_next("metadata", 502, body="<html><body>Bad Gateway</body></html>")
    server.fail_next("metadata", 503)
    waits: list[float] = []
    google = Google(credentials_env=KEY_ENV, api_base=server.url, backoff_seconds=1.0,
                    max_backoff_seconds=3.0)  # fmt: skip
    data = read_spreadsheet(KEY, "Délais", google, sleep=waits.append)
    assert len(waits) == 3
    assert 0.5 <= waits[0] <= 1.0 and 1.0 <= waits[1] <= 2.0 and 1.5 <= waits[2] <= 3.0
    assert data.title == "Délais"


def test_a_spreadsheet_that_keeps_failing_is_reported_and_the_others_go_on(
    server: SheetsServer, tmp_path: Path
) -> None:
    server.add_spreadsheet(KEY, "En panne", {"Délais": letters(3)})
    server.add_spreadsheet(OTHER, "Saine", {"Délais": letters(3)})
    server.fail_next(KEY, 503, times=50)
    run = run_sync(google_config(server, tmp_path, KEY, OTHER, max_retries=2), TODAY)
    broken, healthy = run.writes
    assert broken.status == "not-read" and "erreur de l'API Google Sheets (503)" in broken.message
    assert healthy.status == "written"
    assert server.count("metadata") == 3 + 1  # 1 try + 2 retries for the broken one, bounded


def test_a_non_json_error_body_gives_a_clean_message(server: SheetsServer, tmp_path: Path) -> None:
    server.add_spreadsheet(KEY, "Délais", {"Délais": letters(3)})
    server.fail_next("metadata", 400, body="<html><title>Error 400</title></html>")
    report = run_check(google_config(server, tmp_path), TODAY).report
    assert report.sources[0].error == "erreur de l'API Google Sheets (400)"


def test_a_slow_answer_times_out_and_is_retried(server: SheetsServer, tmp_path: Path) -> None:
    server.add_spreadsheet(KEY, "Délais", {"Délais": letters(3)})
    server.fail_next("batchGet", None, delay=1.0)
    config = google_config(server, tmp_path, timeout_seconds=0.3)
    report = run_check(config, TODAY).report
    assert report.sources[0].error is None
    assert server.count("batchGet") == 2  # the slow one, then the retry

    server.fail_next("batchGet", None, delay=1.0, times=5)
    report = run_check(google_config(server, tmp_path, timeout_seconds=0.3, max_retries=1),
                       TODAY).report  # fmt: skip
    assert "ne répond pas (délai dépassé)" in (report.sources[0].error or "")


def test_base_url_can_come_from_the_environment(
    server: SheetsServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.add_spreadsheet(KEY, "Délais", {"Délais": letters(3)})
    monkeypatch.setenv("QEP_SYNC_SHEETS_API", server.url)
    raw = {"sources": [{"service": "S1", "gsheet": f"https://docs.google.com/spreadsheets/d/{KEY}/edit"}],
           "google": {"credentials_env": KEY_ENV}}  # fmt: skip
    report = run_check(parse_config(raw, tmp_path), TODAY).report
    assert report.sources[0].error is None and report.sources[0].sheets[0].rows == 4
    assert server.count("drive") == 1  # Drive goes to the same base as Sheets


# ---------------------------------------------------------------- the spreadsheet's modified time

EDITED = dt.datetime(2026, 11, 2, 9, 15, 30, 123000, tzinfo=dt.UTC)


def _google(server: SheetsServer, **options: Any) -> Google:
    settings: dict[str, Any] = {"backoff_seconds": 0.01, "max_backoff_seconds": 0.05, **options}
    return Google(credentials_env=KEY_ENV, api_base=server.url, **settings)


def test_last_change_is_the_spreadsheets_own_modified_time(server: SheetsServer) -> None:
    server.add_spreadsheet(KEY, "Délais", {"Délais": letters(3)})
    server.set_modified(KEY, EDITED)  # her last edit in the browser
    server.reset_log()
    data = read_spreadsheet(KEY, "Délais BRCIE", _google(server))
    moment = data.last_change()
    assert moment == EDITED == server.modified_time(KEY)
    assert moment is not None and moment.utcoffset() == dt.timedelta(0)
    drive = [r for r, k in zip(server.requests, server.kinds, strict=True) if k == "drive"]
    assert [(r.method, r.path) for r in drive] == [("GET", f"/drive/v3/files/{KEY}")]
    assert drive[0].query == {"fields": ["modifiedTime"], "supportsAllDrives": ["true"]}
    assert data.calls == 3 == data.calls_before_write  # metadata, values, Drive: one counter
    token = server.requests[server.kinds.index("token")].body["assertion"].split(".")[1]
    scopes = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))["scope"]
    assert "https://www.googleapis.com/auth/drive.metadata.readonly" in scopes.split()


def test_a_write_by_qep_sync_moves_the_modified_time(server: SheetsServer, tmp_path: Path) -> None:
    server.add_spreadsheet(KEY, "Délais BRCIE", {"Délais": letters(5)})
    server.set_modified(KEY, EDITED)
    wrote = dt.datetime(2026, 11, 26, 7, 30, tzinfo=dt.UTC)
    server.clock = lambda: wrote
    run = run_sync(google_config(server, tmp_path), TODAY)
    assert run.check.sources[0].book is not None
    assert run.check.sources[0].book.last_change() == EDITED  # as read, before the write
    assert run.writes[0].status == "written" and server.modified_time(KEY) == wrote
    again = read_spreadsheet(KEY, "Délais BRCIE", _google(server))
    assert again.last_change() == wrote


def test_the_consolidation_shows_a_persons_edit_not_qep_syncs_write(
    server: SheetsServer, tmp_path: Path
) -> None:
    """docs/contract.md §4: a Google Sheet's last change by a person comes from Drive."""
    server.add_spreadsheet(KEY, "Délais BRCIE", {"Délais": letters(5)})
    server.set_modified(KEY, EDITED)
    path = tmp_path / "qep-sync.toml"
    path.write_text(
        f'[[sources]]\nservice = "BRCIE"\nname = "Bureau"\ngsheet = "{KEY}"\n'
        f'[google]\ncredentials_env = "{KEY_ENV}"\napi_base = "{server.url}"\n',
        encoding="utf-8",
    )

    def shown() -> object:
        config = load_config(path)
        run = run_sync(config, TODAY)
        assert run.consolidated is not None and run.consolidated.status == "written"
        assert config.consolidated is not None
        ws = openpyxl.load_workbook(config.consolidated)["Synthèse"]
        header = [c.value for c in ws[3]]
        return ws.cell(4, header.index("Dernière modification par une personne") + 1).value

    def wall_clock(moment: dt.datetime) -> dt.datetime:
        return moment.astimezone(ZoneInfo("Europe/Paris")).replace(tzinfo=None, microsecond=0)

    assert shown() == wall_clock(EDITED)  # the first sync writes the owned columns...
    assert server.modified_time(KEY) > EDITED
    assert shown() == wall_clock(EDITED)  # ...and that write is not a person's change
    server.set_cell(KEY, "Délais", "D2", TODAY)  # she answers C1 in her browser
    answered = server.modified_time(KEY)  # the sync below writes again, after her
    assert shown() == wall_clock(answered)


@pytest.mark.parametrize("failure", ["drive-disabled", "no-drive-scope", "404", "timeout"])
def test_drive_failing_leaves_the_read_working_and_the_time_unknown(
    server: SheetsServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    failure: str,
) -> None:
    server.add_spreadsheet(KEY, "Délais", {"Délais": letters(3)})
    options: dict[str, Any] = {}
    if failure == "drive-disabled":
        server.drive_enabled = False  # the Drive API not enabled in the project: 403
    elif failure == "no-drive-scope":
        monkeypatch.setattr(gsheets, "SCOPES", ["https://www.googleapis.com/auth/spreadsheets"])
    elif failure == "404":
        server.fail_next("drive", 404)
    else:
        server.fail_next("drive", None, delay=1.0, times=3)
        options = {"timeout_seconds": 0.3, "max_retries": 1}
    server.reset_log()
    with caplog.at_level(logging.DEBUG, logger="qep_sync"):
        data = read_spreadsheet(KEY, "Délais BRCIE", _google(server, **options))
    assert data.sheets[0].rows[0] == HEADER and data.last_change() is None
    assert server.count("drive") == (2 if failure == "timeout" else 1)  # 403/404: no retry
    assert data.calls == 2 + server.count("drive")
    lines = [r for r in caplog.records if "date de dernière modification inconnue" in r.message]
    assert len(lines) == 1 and lines[0].levelno == logging.WARNING
    assert lines[0].message.startswith("Délais BRCIE : ") and lines[0].exc_info is None
    expected = {"drive-disabled": "n'est pas activée dans le projet du compte de service (403)",
                "no-drive-scope": "pas la portée Drive demandée (403)",
                "404": "fichier introuvable (404)", "timeout": "délai dépassé"}[failure]  # fmt: skip
    assert expected in lines[0].message
    assert "ya29" not in caplog.text and "PRIVATE KEY" not in caplog.text
    report = run_check(google_config(server, tmp_path, **options), TODAY).report
    assert report.sources[0].error is None and report.sources[0].sheets[0].rows == 4


def test_drive_503_is_retried_as_asked_by_retry_after(server: SheetsServer) -> None:
    server.add_spreadsheet(KEY, "Délais", {"Délais": letters(3)})
    server.set_modified(KEY, EDITED)
    server.fail_next("drive", 503, retry_after=2)
    server.fail_next("drive", 403, body={"error": {"code": 403, "message": "Rate Limit Exceeded",
        "errors": [{"domain": "usageLimits", "reason": "userRateLimitExceeded",
                    "message": "Rate Limit Exceeded"}]}})  # fmt: skip
    waits: list[float] = []
    data = read_spreadsheet(
        KEY, "Délais", _google(server, max_backoff_seconds=60), sleep=waits.append
    )
    assert waits[0] == 2.0 and len(waits) == 2  # Retry-After, then Drive's 403 rate limit
    assert data.last_change() == EDITED
    assert data.calls == 2 + 3


def test_drive_calls_go_to_googles_drive_host_without_an_override() -> None:
    from google.auth.credentials import AnonymousCredentials

    seen: list[str] = []

    class Recorder(requests.adapters.BaseAdapter):
        def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
            seen.append(str(request.url))
            answer = requests.Response()
            answer.status_code, answer._content = 200, b"{}"
            return answer

        def close(self) -> None:
            pass

    for base in (gsheets.GOOGLE_API, "http://proxy.example:8080/google/"):
        session = gsheets.BaseUrlSession(AnonymousCredentials(), base)
        session.mount("https://", Recorder())
        session.mount("http://", Recorder())
        session.get(f"{gsheets.DRIVE_FILES}/{KEY}")
        session.get(f"{gsheets.GOOGLE_API}/v4/spreadsheets/{KEY}")
        session.get("https://www.googleapis.com/oauth2/v1/certs")  # not Drive: never moved
        session.close()
    assert seen == [
        f"https://www.googleapis.com/drive/v3/files/{KEY}",
        f"https://sheets.googleapis.com/v4/spreadsheets/{KEY}",
        "https://www.googleapis.com/oauth2/v1/certs",
        f"http://proxy.example:8080/google/drive/v3/files/{KEY}",
        f"http://proxy.example:8080/google/v4/spreadsheets/{KEY}",
        "https://www.googleapis.com/oauth2/v1/certs",
    ]


def test_config_refuses_a_gsheet_that_is_neither_key_nor_url(tmp_path: Path) -> None:
    from qep_sync.errors import ConfigError

    raw = {"sources": [{"service": "S1", "gsheet": "pas une clé"}]}
    with pytest.raises(ConfigError, match=r"sources\[1\]\.gsheet"):
        parse_config(raw, tmp_path)


def test_source_error_names_the_label_not_the_key_contents(server: SheetsServer) -> None:
    google = Google(credentials_env="QEP_TEST_UNSET_VARIABLE", api_base=server.url)
    with pytest.raises(SourceError) as caught:
        read_spreadsheet(KEY, "Google Sheets BRCIE", google)
    assert str(caught.value).startswith("Google Sheets BRCIE : variable d'environnement")


def test_demo_with_one_google_sheets_service(server: SheetsServer, tmp_path: Path) -> None:
    """The demo workspace, with BRCIE moved to a Google Sheet: same anomalies, synced, consolidated."""
    from qep_sync.workspace.demo_data import planted_anomalies

    folder = tmp_path / "demo"
    runner = CliRunner()
    created = runner.invoke(main, ["init", str(folder), "--demo", "--today", TODAY.isoformat()])
    assert created.exit_code == 0, created.output
    book = python_calamine.CalamineWorkbook.from_path(str(folder / "services" / "BRCIE.xlsx"))
    tabs = {name: [[None if v == "" else v for v in row]
                   for row in book.get_sheet_by_name(name).to_python(skip_empty_area=False)]
            for name in book.sheet_names}  # fmt: skip
    server.add_spreadsheet(KEY, "Suivi BRCIE", tabs)
    (folder / "services" / "BRCIE.xlsx").unlink()
    config_path = folder / "qep-sync.toml"
    text = config_path.read_text(encoding="utf-8").replace(
        'path = "services/BRCIE.xlsx"', f'gsheet = "{KEY}"'
    )
    text += f'\n[google]\ncredentials_env = "{KEY_ENV}"\napi_base = "{server.url}"\n'
    config_path.write_text(text, encoding="utf-8")
    assert tomllib.loads(text)["sources"][0]["gsheet"] == KEY

    result = runner.invoke(
        main, ["sync", "-c", str(config_path), "--today", TODAY.isoformat(), "--format", "json"],
        catch_exceptions=False,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    brcie = [f for f in data["findings"] if f["service"] == "BRCIE"]
    planted = [(s, c, sev) for f, s, c, sev in planted_anomalies(TODAY) if f == "BRCIE.xlsx"]
    assert sorted((f["sheet"], f["cell"], f["severity"]) for f in brcie) == sorted(planted)
    assert {w["service"]: w["status"] for w in data["writes"]}["BRCIE"] == "written"
    assert data["consolidated"]["status"] == "written"
    header = next(r for r in server.values(KEY, "Délais") if "Canal" in r)
    assert header[-5:] == [
        "Date limite de réponse", "Délai (jours ouvrés)", "Dans le délai", "Statut", "Contrôle",
    ]  # fmt: skip


def test_alerts_point_to_the_google_sheet(server: SheetsServer, tmp_path: Path) -> None:
    """A late reply in a Google Sheet is reminded with the sheet's address, not a file path."""
    rows = [HEADER, ["R1", "Courriel", TODAY - dt.timedelta(days=20), None, "Sans réponse"]]
    server.add_spreadsheet(KEY, "Délais BRCIE", {"Délais": rows})
    raw = {
        "sources": [
            {"service": "BRCIE", "name": "Bureau", "gsheet": KEY},
            {"service": "QUALITE", "name": "Mission qualité", "xlsx": "Correspondants.xlsx"},
        ],
        "google": {"credentials_env": KEY_ENV, "api_base": server.url},
        "alerts": {"quality_lead": "referent.qualite@doubs.gouv.fr"},
    }
    from conftest import make_workbook

    make_workbook(tmp_path / "Correspondants.xlsx", {"Correspondants": [
        ["Service", "Nom", "Email", "Rôle"],
        ["BRCIE", "Hélène Vuillemin", "helene.vuillemin@doubs.gouv.fr", "Correspondant qualité"],
    ]})  # fmt: skip
    result = CliRunner().invoke(
        main,
        ["alerts", "--dry-run", "--format", "json", "--today", TODAY.isoformat(),
         "-c", str(_write_toml(tmp_path, raw))],
        catch_exceptions=False,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    items = [i for d in json.loads(result.output)["digests"] for i in d["items"]]
    late = [i for i in items if i["kind"] == "réponse" or i["title"].startswith("Courriel")]
    assert late, items
    assert late[0]["url"] == f"https://docs.google.com/spreadsheets/d/{KEY}/edit"


def _write_toml(folder: Path, raw: dict[str, Any]) -> Path:
    lines = []
    for source in raw["sources"]:
        lines.append("[[sources]]")
        lines += [f'{k} = "{v}"' for k, v in source.items()]
    for section in ("google", "alerts"):
        lines.append(f"[{section}]")
        lines += [f'{k} = "{v}"' for k, v in raw[section].items()]
    path = folder / "qep-sync.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
