"""The configuration file (qep-sync.toml): a valid one loads, every mistake names its key."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from conftest import make_good_workbook

from qep_sync.cli import main
from qep_sync.config import Rules, load_config
from qep_sync.errors import ConfigError
from qep_sync.jobs.check import run_check

SOURCES = """
[[sources]]
service = "BRCIE"
name = "Bureau de la réglementation"
xlsx = "services/brcie.xlsx"

[[sources]]
service = "SIDSIC"
xlsx = "services/sidsic.xlsx"
"""

FULL = (
    """
[workspace]
state_dir = "etat"
schemas_dir = "mes-schemas"
consolidated = "sortie/Consolidation.xlsx"

[rules]
echeance_proche_jours = 10
document_alerte_jours = 45
formation_delai_mois = 3
autoevaluation_periodicite_mois = 12
delai_reponse_jours_ouvres = { Courriel = 3, "Réclamation" = 30 }

[calendar]
closure_days = [2026-05-15, "2026-12-24"]
worked_holidays = [2026-05-25]

[alerts]
sender = "qualite@doubs.gouv.fr"
quality_lead = "referent.qualite@doubs.gouv.fr"
reminder_days = [1, 30, 7]
escalation_days = 20
outbox = "courriels"

[smtp]
host = "smtp.doubs.gouv.fr"
port = 465
security = "tls"
user = "qep-sync"
password_env = "QEP_SMTP_PASSWORD"
"""
    + SOURCES
)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A folder with the two workbooks and the schemas folder that FULL names."""
    (tmp_path / "services").mkdir()
    make_good_workbook(tmp_path / "services" / "brcie.xlsx")
    make_good_workbook(tmp_path / "services" / "sidsic.xlsx")
    (tmp_path / "mes-schemas").mkdir()
    return tmp_path


def write_config(folder: Path, text: str, name: str = "qep-sync.toml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def config_error(folder: Path, text: str) -> ConfigError:
    with pytest.raises(ConfigError) as exc:
        load_config(write_config(folder, text))
    return exc.value


def test_full_config_loads_with_paths_relative_to_its_folder(
    workspace: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_config(workspace, FULL)
    monkeypatch.chdir(tmp_path_factory.mktemp("elsewhere"))  # paths must not follow the cwd
    config = load_config(path)

    assert config.path == path
    assert [(s.service, s.name) for s in config.sources] == [
        ("BRCIE", "Bureau de la réglementation"),
        ("SIDSIC", "SIDSIC"),
    ]
    base = workspace.resolve()
    assert config.sources[0].path == base / "services" / "brcie.xlsx"
    assert config.sources[1].path == base / "services" / "sidsic.xlsx"
    assert config.state_dir == base / "etat"
    assert config.schemas_dir == base / "mes-schemas"
    assert config.consolidated == base / "sortie" / "Consolidation.xlsx"
    assert config.alerts.outbox == base / "courriels"

    assert config.rules.echeance_proche_jours == 10
    assert config.rules.document_alerte_jours == 45
    assert config.rules.formation_delai_mois == 3
    assert config.rules.autoevaluation_periodicite_mois == 12
    assert config.rules.delai_reponse_jours_ouvres == {
        "Courriel": 3,
        "Courrier": 15,
        "Réclamation": 30,
        "Suggestion": 15,
    }
    assert config.calendar.closure_days == (dt.date(2026, 5, 15), dt.date(2026, 12, 24))
    assert config.calendar.worked_holidays == (dt.date(2026, 5, 25),)
    assert config.alerts.reminder_days == (30, 7, 1)
    assert config.alerts.quality_lead == "referent.qualite@doubs.gouv.fr"
    assert config.smtp is not None
    assert (config.smtp.host, config.smtp.port, config.smtp.security) == (
        "smtp.doubs.gouv.fr",
        465,
        "tls",
    )
    assert config.smtp.password_env == "QEP_SMTP_PASSWORD"


def test_minimal_config_gets_the_design_defaults(workspace: Path) -> None:
    config = load_config(write_config(workspace, SOURCES))
    assert config.rules == Rules()
    assert config.rules.echeance_proche_jours == 15
    assert config.rules.document_alerte_jours == 60
    assert config.rules.delai_reponse_jours_ouvres == {
        "Courriel": 5,
        "Courrier": 15,
        "Réclamation": 15,
        "Suggestion": 15,
    }
    assert config.smtp is None
    assert config.schemas_dir is None


def test_forced_sheet_trackers_are_read(workspace: Path) -> None:
    text = SOURCES.replace(
        'name = "Bureau de la réglementation"',
        'name = "BR"\nsheets = { "Feuil1" = "courriers" }',
    )
    config = load_config(write_config(workspace, text))
    assert config.sources[0].sheets == {"Feuil1": "courriers"}


def test_unknown_key_names_the_key(workspace: Path) -> None:
    error = config_error(workspace, "[rules]\necheance_proche_jour = 10\n" + SOURCES)
    assert error.key == "rules.echeance_proche_jour"
    assert str(error).startswith("rules.echeance_proche_jour : clé inconnue")
    assert "echeance_proche_jours" in str(error)  # the possible keys are listed


def test_unknown_top_level_section_names_it(workspace: Path) -> None:
    error = config_error(workspace, "[regles]\nx = 1\n" + SOURCES)
    assert error.key == "regles"


def test_unknown_key_in_a_source_names_the_source(workspace: Path) -> None:
    error = config_error(workspace, SOURCES + 'fichier = "x.xlsx"\n')
    assert error.key == "sources[2].fichier"


def test_wrong_type_names_the_key_and_the_expected_type(workspace: Path) -> None:
    error = config_error(workspace, '[rules]\necheance_proche_jours = "15"\n' + SOURCES)
    assert error.key == "rules.echeance_proche_jours"
    assert "nombre entier" in str(error)
    assert "le texte « 15 »" in str(error) and "'" not in str(error)  # no quotes in « »


def test_boolean_is_not_accepted_as_a_number(workspace: Path) -> None:
    error = config_error(workspace, "[rules]\ndocument_alerte_jours = true\n" + SOURCES)
    assert error.key == "rules.document_alerte_jours"


def test_negative_number_of_days_is_refused(workspace: Path) -> None:
    error = config_error(workspace, "[rules]\nformation_delai_mois = -1\n" + SOURCES)
    assert error.key == "rules.formation_delai_mois"
    assert "positif" in str(error)


def test_missing_source_file_loads_and_fails_that_source_only(workspace: Path) -> None:
    # docs/contract.md §6: a missing file (renamed, moved, share unreachable) is a failed
    # source at each run, not a config error that would stop every other source.
    (workspace / "services" / "brcie.xlsx").unlink()
    config = load_config(write_config(workspace, SOURCES))
    assert config.sources[0].path == workspace.resolve() / "services" / "brcie.xlsx"

    brcie, sidsic = run_check(config, dt.date(2026, 11, 26)).report.sources
    assert (brcie.service, brcie.error) == ("BRCIE", "fichier introuvable")
    assert sidsic.error is None
    assert [s.tracker for s in sidsic.sheets] == ["plan_actions"]  # the other one is read


def test_cli_check_of_a_config_with_a_missing_source_exits_1_and_lists_the_others(
    workspace: Path,
) -> None:
    (workspace / "services" / "sidsic.xlsx").unlink()
    result = run_cli(["check", "-c", str(write_config(workspace, SOURCES))])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    lines = result.stdout.splitlines()
    assert "1 illisible" in lines[0]
    brcie = lines.index("BRCIE — Bureau de la réglementation (brcie.xlsx)")
    assert lines[brcie + 1] == "  Plan d'actions (2 lignes) : aucune anomalie"
    sidsic = lines.index("SIDSIC (sidsic.xlsx)")
    assert lines[sidsic + 1] == "  ✗ source non lue : fichier introuvable"


def test_duplicate_service_code_is_refused(workspace: Path) -> None:
    error = config_error(workspace, SOURCES.replace('"SIDSIC"', '"BRCIE"'))
    assert error.key == "sources[2].service"
    assert "déjà utilisé par sources[1]" in str(error)


def test_no_source_is_refused(workspace: Path) -> None:
    assert config_error(workspace, "[rules]\necheance_proche_jours = 10\n").key == "sources"


def test_unknown_forced_tracker_names_the_sheet(workspace: Path) -> None:
    text = SOURCES + 'sheets = { "Feuil1" = "courrier" }\n'
    error = config_error(workspace, text)
    assert error.key == 'sources[2].sheets."Feuil1"'
    assert "courriers" in str(error)  # the possible trackers are listed


def test_bad_closure_day_names_its_position(workspace: Path) -> None:
    error = config_error(
        workspace, '[calendar]\nclosure_days = ["2026-05-15", "15/05/2026"]\n' + SOURCES
    )
    assert error.key == "calendar.closure_days[1]"
    assert "AAAA-MM-JJ" in str(error)


def test_smtp_password_in_the_file_is_refused_pointing_to_password_env(workspace: Path) -> None:
    text = '[smtp]\nhost = "smtp.example.org"\npassword = "secret123"\n' + SOURCES
    error = config_error(workspace, text)
    assert error.key == "smtp.password"
    assert "password_env" in str(error)
    assert "variable d'environnement" in str(error)
    assert "secret123" not in str(error)


def test_invalid_password_env_name_is_refused(workspace: Path) -> None:
    text = '[smtp]\nhost = "smtp.example.org"\npassword_env = "mot de passe"\n' + SOURCES
    assert config_error(workspace, text).key == "smtp.password_env"


def test_invalid_toml_is_a_config_error_naming_the_file(workspace: Path) -> None:
    error = config_error(workspace, "[rules\nechéance = \n")
    assert "qep-sync.toml" in str(error)
    assert "syntaxe TOML invalide" in str(error)


def test_missing_config_file_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"fichier de configuration introuvable.*qep-sync init"):
        load_config(tmp_path / "absent.toml")


# --- through the command line ----------------------------------------------------------------


def run_cli(args: list[str], env: dict[str, str | None] | None = None) -> Result:
    return CliRunner().invoke(
        main, [*args, "--today", "2026-11-26"], env=env, catch_exceptions=False
    )


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("[rules]\nechance_proche_jours = 3\n" + SOURCES, "rules.echance_proche_jours"),
        ("[rules\n", "syntaxe TOML invalide"),
        ('[smtp]\nhost = "h"\npassword = "p"\n' + SOURCES, "smtp.password"),
    ],
)
def test_cli_bad_config_exits_2_with_one_french_line(workspace: Path, text: str, key: str) -> None:
    bad = write_config(workspace, text, "bad.toml")
    result = run_cli(["check", "-c", str(bad)])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith("Erreur :")
    assert key in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output


def test_cli_missing_config_exits_2(tmp_path: Path) -> None:
    result = run_cli(["check", "-c", str(tmp_path / "absent.toml")])
    assert result.exit_code == 2
    assert result.stderr.startswith("Erreur : fichier de configuration introuvable")


def test_cli_honours_qep_sync_config_env_var(workspace: Path) -> None:
    config = write_config(workspace, SOURCES, "ailleurs.toml")
    result = run_cli(["check"], env={"QEP_SYNC_CONFIG": str(config)})
    assert result.exit_code == 0, result.output
    assert "BRCIE" in result.stdout
    assert "SIDSIC" in result.stdout


def test_cli_env_var_pointing_to_a_bad_config_exits_2(workspace: Path) -> None:
    bad = write_config(workspace, "[rules]\nechance = 3\n" + SOURCES, "ailleurs.toml")
    result = run_cli(["check"], env={"QEP_SYNC_CONFIG": str(bad)})
    assert result.exit_code == 2
    assert "rules.echance" in result.stderr


def test_cli_option_wins_over_the_env_var(workspace: Path) -> None:
    good = write_config(workspace, SOURCES, "bon.toml")
    bad = write_config(workspace, "[rules\n", "mauvais.toml")
    result = run_cli(["check", "-c", str(good)], env={"QEP_SYNC_CONFIG": str(bad)})
    assert result.exit_code == 0, result.output


def test_cli_default_config_is_qep_sync_toml_in_the_current_folder(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_config(workspace, SOURCES)
    monkeypatch.chdir(workspace)
    result = run_cli(["check"], env={"QEP_SYNC_CONFIG": None})
    assert result.exit_code == 0, result.output
    assert "BRCIE" in result.stdout
