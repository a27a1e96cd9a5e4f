"""The config refuses what would break a run: outputs that are sources, values out of range,
a config path that is no regular file, a workbook declared twice, TOML mistakes (in French).

Each refusal is a ConfigError whose message names the key (docs/configuration.md).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from conftest import TODAY, make_good_workbook, make_workbook

from qep_sync.cli import main
from qep_sync.config import Config, load_config, parse_config
from qep_sync.errors import ConfigError
from qep_sync.jobs.check import run_check

KEY = "1AbCdEfGhIjKlMnOpQrStUvWxYz0123456789"


@pytest.fixture
def base(tmp_path: Path) -> Path:
    """A workspace folder with the two workbooks of ``sources()``."""
    (tmp_path / "services").mkdir()
    make_good_workbook(tmp_path / "services" / "brcie.xlsx")
    make_good_workbook(tmp_path / "services" / "bas.xlsx")
    return tmp_path


def sources(*extra: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"service": "BRCIE", "xlsx": "services/brcie.xlsx"},
        {"service": "BAS", "xlsx": "services/bas.xlsx"},
        *extra,
    ]


def parse(base: Path, **sections: Any) -> Config:
    raw = {"sources": sources(), **sections}
    return parse_config(raw, base)


def refused(base: Path, **sections: Any) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        parse(base, **sections)
    return caught.value


def invoke(*args: str) -> Result:
    return CliRunner().invoke(main, [*args, "--today", TODAY.isoformat()], catch_exceptions=False)


# --- 1. what qep-sync writes must not be a source -------------------------------------------


@pytest.mark.parametrize(
    "value",
    ["services/bas.xlsx", "./services/../services/bas.xlsx", "BASE/services/bas.xlsx"],
)
def test_consolidated_workbook_that_is_a_source_is_refused(base: Path, value: str) -> None:
    value = value.replace("BASE", str(base))  # relative, roundabout or absolute: one file
    error = refused(base, workspace={"consolidated": value})
    assert error.key == "workspace.consolidated"
    assert "est aussi la source sources[2].xlsx (BAS)" in str(error)
    assert str(error).startswith("workspace.consolidated : ")
    assert "(valeur par défaut)" not in str(error)


def test_default_consolidated_name_taken_by_a_source_says_it_is_the_default(base: Path) -> None:
    make_good_workbook(base / "Consolidation qualité.xlsx")
    raw = {"sources": sources({"service": "MQ", "xlsx": "Consolidation qualité.xlsx"})}
    with pytest.raises(ConfigError) as caught:
        parse_config(raw, base)
    assert caught.value.key == "workspace.consolidated"
    assert "(valeur par défaut) est aussi la source sources[3].xlsx (MQ)" in str(caught.value)


def test_consolidated_through_a_link_to_a_source_is_refused(base: Path) -> None:
    (base / "lien.xlsx").symlink_to(base / "services" / "brcie.xlsx")
    error = refused(base, workspace={"consolidated": "lien.xlsx"})
    assert error.key == "workspace.consolidated"
    assert "sources[1].xlsx (BRCIE)" in str(error)


@pytest.mark.parametrize(
    ("section", "key", "value"),
    [
        ("workspace", "state_dir", "services"),
        ("workspace", "state_dir", "."),
        ("workspace", "state_dir", "services/bas.xlsx"),
        ("alerts", "outbox", "services"),
        ("alerts", "outbox", "./services/"),
    ],
)
def test_state_folder_or_outbox_holding_a_source_is_refused(
    base: Path, section: str, key: str, value: str
) -> None:
    error = refused(base, **{section: {key: value}})
    assert error.key == f"{section}.{key}"
    assert "contient la source sources[" in str(error)
    assert str(error).endswith("choisissez un dossier sans source")


def test_log_file_that_is_a_source_is_refused(base: Path) -> None:
    error = refused(base, logging={"file": "services/brcie.xlsx"})
    assert error.key == "logging.file"
    assert "sources[1].xlsx (BRCIE)" in str(error)


def test_outputs_beside_the_sources_are_fine(base: Path) -> None:
    config = parse(
        base,
        workspace={"consolidated": "services/Consolidation.xlsx", "state_dir": "services-etat"},
        alerts={"outbox": "services/courriels"},  # inside the folder of the sources: harmless
        logging={"file": "services/qep-sync.log"},
    )
    assert config.consolidated == base / "services" / "Consolidation.xlsx"


def test_sync_refuses_a_consolidated_source_and_leaves_it_as_it_was(base: Path) -> None:
    source = base / "services" / "bas.xlsx"
    before = source.read_bytes()
    config = base / "qep-sync.toml"
    config.write_text(
        '[workspace]\nconsolidated = "services/bas.xlsx"\nstate_dir = "etat"\n\n'
        '[[sources]]\nservice = "BRCIE"\nxlsx = "services/brcie.xlsx"\n\n'
        '[[sources]]\nservice = "BAS"\nxlsx = "services/bas.xlsx"\n',
        encoding="utf-8",
    )
    result = invoke("sync", "-c", str(config))
    assert result.exit_code == 2
    assert result.stderr.startswith("Erreur : workspace.consolidated : ")
    assert "sources[2].xlsx" in result.stderr
    assert source.read_bytes() == before


# --- 2. values out of range -------------------------------------------------------------------

KEEP_TWO_YEARS = "ne gardez que celles de l'année en cours et de la suivante"
DATES_367 = [dt.date(2026, 1, 1) + dt.timedelta(days=n) for n in range(367)]


@pytest.mark.parametrize(
    ("sections", "key", "message"),
    [
        ({"rules": {"delai_reponse_jours_ouvres": {"Courriel": 100_000_000}}},
         "rules.delai_reponse_jours_ouvres.Courriel", "entre 1 et 365 jours ouvrés, 100000000 trouvé"),
        ({"rules": {"delai_reponse_jours_ouvres": {"Réclamation": 0}}},
         "rules.delai_reponse_jours_ouvres.Réclamation", "entre 1 et 365 jours ouvrés, 0 trouvé"),
        ({"rules": {"echeance_proche_jours": 3651}},
         "rules.echeance_proche_jours", "entre 0 et 3650 jours, 3651 trouvé"),
        ({"rules": {"document_alerte_jours": -5}},
         "rules.document_alerte_jours", "doit être positif ou nul (entre 0 et 3650 jours), -5 trouvé"),
        ({"rules": {"formation_delai_mois": 121}},
         "rules.formation_delai_mois", "entre 0 et 120 mois, 121 trouvé"),
        ({"rules": {"autoevaluation_periodicite_mois": 0}},
         "rules.autoevaluation_periodicite_mois", "entre 1 et 120 mois, 0 trouvé"),
        ({"calendar": {"closure_days": DATES_367}},
         "calendar.closure_days", "366 dates au plus, 367 trouvées : " + KEEP_TWO_YEARS),
        ({"calendar": {"worked_holidays": [d.isoformat() for d in DATES_367]}},
         "calendar.worked_holidays", "366 dates au plus, 367 trouvées : " + KEEP_TWO_YEARS),
        ({"smtp": {"host": "smtp.doubs.gouv.fr", "port": 99_999_999}},
         "smtp.port", "entre 1 et 65535, 99999999 trouvé"),
        ({"smtp": {"host": "smtp.doubs.gouv.fr", "port": 0}}, "smtp.port", "entre 1 et 65535, 0 trouvé"),
        ({"smtp": {"host": "smtp.doubs.gouv.fr", "timeout": 0}},
         "smtp.timeout", "entre 1 et 600 secondes, 0 trouvé"),
        ({"smtp": {"host": "smtp.doubs.gouv.fr", "timeout": 601}},
         "smtp.timeout", "entre 1 et 600 secondes, 601 trouvé"),
        ({"google": {"timeout_seconds": 0}},
         "google.timeout_seconds", "entre 0,1 et 600 secondes, 0 trouvé"),
        ({"google": {"timeout_seconds": 1e9}},
         "google.timeout_seconds", "entre 0,1 et 600 secondes, 1000000000 trouvé"),
        ({"google": {"timeout_seconds": 0.05}},
         "google.timeout_seconds", "entre 0,1 et 600 secondes, 0,05 trouvé"),
        ({"google": {"backoff_seconds": float("nan")}},
         "google.backoff_seconds", "entre 0,01 et 600 secondes, nan trouvé"),
        ({"google": {"max_retries": 21}}, "google.max_retries", "entre 0 et 20 tentatives, 21 trouvé"),
        ({"google": {"backoff_seconds": 0}},
         "google.backoff_seconds", "entre 0,01 et 600 secondes, 0 trouvé"),
        ({"google": {"max_backoff_seconds": 3601}},
         "google.max_backoff_seconds", "entre 0,01 et 3600 secondes, 3601 trouvé"),
        ({"google": {"backoff_seconds": "1 s"}}, "google.backoff_seconds",
         "nombre de secondes attendu, le texte « 1 s » trouvé"),
        ({"alerts": {"max_messages": 0}}, "alerts.max_messages", "entre 1 et 10000 courriels, 0 trouvé"),
        ({"alerts": {"max_messages": 10_001}},
         "alerts.max_messages", "entre 1 et 10000 courriels, 10001 trouvé"),
        ({"alerts": {"late_every_days": 366}},
         "alerts.late_every_days", "entre 0 et 365 jours, 366 trouvé"),
        ({"alerts": {"escalation_days": 1000}},
         "alerts.escalation_days", "entre 0 et 365 jours, 1000 trouvé"),
        ({"alerts": {"reminder_days": [30, 400]}},
         "alerts.reminder_days", "entre 0 et 365 jours, 400 trouvé"),
        ({"alerts": {"reminder_days": [30, -1]}},
         "alerts.reminder_days", "doit être positif ou nul (entre 0 et 365 jours), -1 trouvé"),
        ({"alerts": {"reminder_days": list(range(1, 12))}},
         "alerts.reminder_days", "10 paliers au plus, 11 trouvés"),
        ({"schedule": {"sync_every_minutes": 1441}},
         "schedule.sync_every_minutes", "entre 1 et 1440 minutes, 1441 trouvé"),
        ({"schedule": {"failure_alert_after": 101}},
         "schedule.failure_alert_after", "entre 0 et 100 échecs, 101 trouvé"),
        ({"logging": {"max_megabytes": 1025}},
         "logging.max_megabytes", "au moins 1 (mégaoctet) et au plus 1024, 1025 trouvé"),
        ({"logging": {"backup_count": 101}},
         "logging.backup_count", "entre 0 et 100 fichiers, 101 trouvé"),
    ],
)  # fmt: skip
def test_a_value_out_of_range_is_refused_naming_its_key(
    base: Path, sections: dict[str, Any], key: str, message: str
) -> None:
    error = refused(base, **sections)
    assert error.key == key
    assert str(error) == f"{key} : {message}"


def test_the_largest_accepted_values_still_make_a_run(base: Path) -> None:
    # At every upper limit at once, a check and its computed columns end, and quickly: the
    # limits are there so that what passes them cannot overflow a date nor make a sync crawl.
    make_workbook(
        base / "services" / "bas.xlsx",
        {"Délais": [["N°", "Canal", "Date de réception", "Date de réponse"],
                    ["C1", "Courriel", dt.date(2026, 11, 2), None],
                    ["C2", "Courrier", dt.date(2026, 1, 5), dt.date(2026, 11, 20)]]},
    )  # fmt: skip
    closures = [dt.date(2027, 1, 1) + dt.timedelta(days=n) for n in range(366)]
    config = parse(
        base,
        rules={
            "echeance_proche_jours": 3650,
            "document_alerte_jours": 3650,
            "formation_delai_mois": 120,
            "autoevaluation_periodicite_mois": 120,
            "delai_reponse_jours_ouvres": {"Courriel": 365, "Courrier": 365},
        },
        calendar={"closure_days": closures, "worked_holidays": closures},
        smtp={"host": "smtp.doubs.gouv.fr", "port": 65_535, "timeout": 600},
        alerts={"max_messages": 10_000, "reminder_days": list(range(0, 10))},
    )
    start = time.monotonic()
    run = run_check(config, TODAY)
    run.compute(TODAY, config)
    assert time.monotonic() - start < 30
    (table,) = run.tables("courriers")
    limits = [values[0] for values in table.computed.values()]
    assert all(isinstance(d, dt.date) and d.year >= 2027 for d in limits), limits


@pytest.mark.parametrize(
    ("sections", "read"),
    [
        ({"rules": {"delai_reponse_jours_ouvres": {"Courriel": 1}}},
         lambda c: c.rules.delai_reponse_jours_ouvres["Courriel"] == 1),
        ({"rules": {"echeance_proche_jours": 0, "formation_delai_mois": 0}},
         lambda c: (c.rules.echeance_proche_jours, c.rules.formation_delai_mois) == (0, 0)),
        ({"smtp": {"host": "h", "port": 1, "timeout": 1}}, lambda c: c.smtp.port == 1),
        ({"google": {"timeout_seconds": 0.1, "max_retries": 0, "backoff_seconds": 0.01}},
         lambda c: c.google.timeout_seconds == 0.1 and c.google.max_retries == 0),
        ({"alerts": {"max_messages": 1, "reminder_days": [365, 0]}},
         lambda c: c.alerts.reminder_days == (365, 0)),
        ({"logging": {"max_megabytes": 1024, "backup_count": 0}},
         lambda c: c.logging.max_megabytes == 1024),
    ],
)  # fmt: skip
def test_the_edges_of_each_range_are_accepted(
    base: Path, sections: dict[str, Any], read: Any
) -> None:
    assert read(parse(base, **sections))


# --- 3. the config path must be a regular file ----------------------------------------------


def test_a_config_path_that_is_a_folder_is_refused_in_french(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path)
    assert str(caught.value) == (
        f"{tmp_path} est un dossier, pas un fichier de configuration : indiquez le fichier "
        f"(par exemple {tmp_path / 'qep-sync.toml'})"
    )


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_a_config_path_that_is_a_pipe_is_refused_without_waiting(tmp_path: Path) -> None:
    fifo = tmp_path / "qep-sync.toml"
    os.mkfifo(fifo)
    outcome: list[BaseException | Config] = []

    def load() -> None:
        try:
            outcome.append(load_config(fifo))
        except BaseException as exc:  # handed to the test thread, which asserts on it
            outcome.append(exc)

    reader = threading.Thread(target=load, daemon=True)
    reader.start()
    reader.join(timeout=10)
    if reader.is_alive():  # it blocked on open(): let it go before failing
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        reader.join(timeout=10)
        pytest.fail("load_config a attendu sur un tube au lieu de le refuser")
    (error,) = outcome
    assert isinstance(error, ConfigError)
    assert "n'est pas un fichier ordinaire" in str(error)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_cli_check_on_a_pipe_exits_2_with_one_french_line(tmp_path: Path) -> None:
    fifo = tmp_path / "tube.toml"
    os.mkfifo(fifo)
    proc = subprocess.run(
        [sys.executable, "-m", "qep_sync", "check", "-c", str(fifo), "--today", "2026-11-26"],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith(f"Erreur : {fifo} n'est pas un fichier ordinaire")
    assert "Traceback" not in proc.stderr


def test_a_source_that_is_a_folder_is_refused(base: Path) -> None:
    raw = {"sources": sources({"service": "SIDSIC", "xlsx": "services"})}
    with pytest.raises(ConfigError) as caught:
        parse_config(raw, base)
    assert caught.value.key == "sources[3].xlsx"
    assert "est un dossier : indiquez le chemin du classeur" in str(caught.value)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_a_source_that_is_a_pipe_is_refused(base: Path) -> None:
    os.mkfifo(base / "services" / "tube.xlsx")
    raw = {"sources": sources({"service": "SIDSIC", "xlsx": "services/tube.xlsx"})}
    with pytest.raises(ConfigError) as caught:
        parse_config(raw, base)
    assert caught.value.key == "sources[3].xlsx"
    assert "n'est pas un fichier ordinaire" in str(caught.value)


# --- 4. one workbook, one source ------------------------------------------------------------


@pytest.mark.parametrize(
    "second", ["services/brcie.xlsx", "services/../services/brcie.xlsx", "BASE/services/brcie.xlsx"]
)
def test_the_same_file_twice_is_refused_naming_both_sources(base: Path, second: str) -> None:
    raw = {"sources": sources({"service": "SIDSIC", "xlsx": second.replace("BASE", str(base))})}
    with pytest.raises(ConfigError) as caught:
        parse_config(raw, base)
    assert caught.value.key == "sources[3].xlsx"
    assert str(caught.value) == (
        "sources[3].xlsx : même classeur que sources[1].xlsx (BRCIE) : "
        "déclarez chaque classeur une seule fois"
    )


def test_the_same_missing_file_twice_is_refused_too(base: Path) -> None:
    raw = {
        "sources": sources({"service": "A", "xlsx": "x.xlsx"}, {"service": "B", "xlsx": "x.xlsx"})
    }
    with pytest.raises(ConfigError) as caught:
        parse_config(raw, base)
    assert caught.value.key == "sources[4].xlsx"
    assert "sources[3].xlsx (A)" in str(caught.value)


def test_the_same_google_sheet_twice_is_refused_key_or_address(base: Path) -> None:
    url = f"https://docs.google.com/spreadsheets/d/{KEY}/edit#gid=0"
    raw = {"sources": sources({"service": "G1", "gsheet": KEY}, {"service": "G2", "gsheet": url})}
    with pytest.raises(ConfigError) as caught:
        parse_config(raw, base)
    assert caught.value.key == "sources[4].gsheet"
    assert "même classeur que sources[3].gsheet (G1)" in str(caught.value)


def test_files_of_the_same_name_in_two_folders_are_two_sources(base: Path) -> None:
    (base / "autre").mkdir()
    make_good_workbook(base / "autre" / "brcie.xlsx")
    raw = {"sources": sources({"service": "AUTRE", "xlsx": "autre/brcie.xlsx"})}
    assert len(parse_config(raw, base).sources) == 3


# --- 5. TOML mistakes, in French ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[rules\n", "à la ligne 1, colonne 7 : crochet fermant « ] » manquant"),
        ('[[sources]]\nxlsx = "C:\\dossier\\a.xlsx"\n',
         "à la ligne 2, colonne 13 : barre oblique inverse dans un texte entre guillemets : "
         "écrivez un chemin Windows entre apostrophes"),
        ("[rules]\necheance_proche_jours = \n", "à la ligne 2, colonne 25 : valeur manquante"),
        ("[rules]\nRéclamation = 15\n",
         "à la ligne 2, colonne 2 : « = » attendu après le nom de la clé (une clé accentuée "
         "s'écrit entre guillemets"),
        ("[rules]\néchéance = 15\n", "à la ligne 2, colonne 1 : ligne illisible (une clé accentuée"),
        ("[rules]\n[rules]\n", "à la ligne 2, colonne 7 : section déclarée deux fois"),
        ('[alerts]\nsender = "a@b.fr\n', "à la ligne 2, colonne 17 : texte non fermé"),
        ("[alerts]\nreminder_days = [30, 7\n", "à la fin du fichier : liste non fermée"),
    ],
)  # fmt: skip
def test_a_toml_mistake_is_told_in_french_with_its_place(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "qep-sync.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value).startswith(f"qep-sync.toml : syntaxe TOML invalide {message}")
    for english in ("Expected", "Invalid", "Unescaped", "line", "column", "document"):
        assert english not in str(caught.value)


def test_a_config_saved_with_a_bom_loads(base: Path) -> None:
    path = base / "qep-sync.toml"
    path.write_bytes(
        b"\xef\xbb\xbf" + b'[[sources]]\nservice = "BAS"\nxlsx = "services/bas.xlsx"\n'
    )
    assert [s.service for s in load_config(path).sources] == ["BAS"]


def test_a_config_not_in_utf8_says_to_save_it_in_utf8(base: Path) -> None:
    path = base / "qep-sync.toml"
    text = '[[sources]]\nservice = "BAS"\nname = "Bureau de l\'accès"\n'.encode("cp1252")
    path.write_bytes(text)  # as Notepad saved it on an old Windows
    position = text.index("è".encode("cp1252")) + 1
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value) == (
        f"{path} n'est pas enregistré en UTF-8 (octet illisible n° {position}) : "
        "ouvrez-le et enregistrez-le avec l'encodage UTF-8"
    )


UNREADABLE = """
import os, sys
from pathlib import Path
from qep_sync.config import load_config  # imported first: nobody may not read root's Python
from qep_sync.errors import ConfigError
if os.geteuid() == 0:
    os.setgid(65534)
    os.setuid(65534)  # nobody: root reads every file, an agent's account does not
try:
    load_config(Path(sys.argv[1]))
except ConfigError as exc:
    print(exc)
"""


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_an_unreadable_config_says_access_is_refused() -> None:
    folder = Path(tempfile.mkdtemp(prefix="qep-sync-droits-"))  # in /tmp: any account reaches it
    try:
        folder.chmod(0o755)
        path = folder / "qep-sync.toml"
        path.write_text("", encoding="utf-8")

        def load_as_an_agent() -> str:
            result = subprocess.run(
                [sys.executable, "-c", UNREADABLE, str(path)],
                capture_output=True, text=True, timeout=60,
                cwd=Path(__file__).resolve().parents[1],
            )  # fmt: skip
            return result.stdout + result.stderr

        path.chmod(0o644)
        assert "accès refusé" not in load_as_an_agent()  # readable: the account reaches it
        path.chmod(0)
        assert "(accès refusé : vérifiez les droits" in load_as_an_agent()
    finally:
        shutil.rmtree(folder)


def test_an_unforeseen_toml_mistake_is_still_a_french_config_error(tmp_path: Path) -> None:
    path = tmp_path / "qep-sync.toml"
    path.write_text("a = 0x\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"^qep-sync.toml : syntaxe TOML invalide à la ligne 1"):
        load_config(path)


def test_path_and_its_older_name_xlsx_both_name_a_workbook(base: Path) -> None:
    raw = {"sources": [{"service": "A", "path": "a.ods"}, {"service": "B", "xlsx": "b.xlsx"}]}
    config = parse_config(raw, base)
    assert [s.path for s in config.sources] == [base / "a.ods", base / "b.xlsx"]


def test_a_source_of_another_format_is_refused_with_its_key(base: Path) -> None:
    raw = {"sources": [{"service": "A", "path": "suivi.csv"}]}
    with pytest.raises(ConfigError) as caught:
        parse_config(raw, base)
    assert caught.value.key == "sources[1].path"
    assert "classeur .xlsx, .xlsm ou .ods attendu" in str(caught.value)


def test_path_and_gsheet_together_are_refused(base: Path) -> None:
    raw = {"sources": [{"service": "A", "path": "a.xlsx", "gsheet": "x" * 30}]}
    with pytest.raises(ConfigError) as caught:
        parse_config(raw, base)
    assert caught.value.key == "sources[1].gsheet"
