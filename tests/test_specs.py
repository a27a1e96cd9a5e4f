"""Tracker specs (schemas/*.json): they load, they drive the checks, and bad ones are refused.

docs/contract.md §2: a quality lead adds an allowed value or an alias by editing a spec file, with no
code change.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import make_workbook

from qep_sync.cli import main
from qep_sync.config import Config, Source
from qep_sync.core.specs import load_spec, load_specs
from qep_sync.errors import SpecError
from qep_sync.jobs.check import run_check
from qep_sync.resources import data_dir
from qep_sync.vocabulary import TRACKERS

SCHEMAS = data_dir("schemas")


@pytest.fixture
def schemas(tmp_path: Path) -> Path:
    """A private copy of the shipped schemas/ that a test may edit."""
    return Path(shutil.copytree(SCHEMAS, tmp_path / "schemas"))


def edit_spec(folder: Path, tracker: str, field: str, change: Any) -> None:
    """Apply ``change(field_dict)`` to one field of a spec file, as a person would by hand."""
    path = folder / f"{tracker}.json"
    spec = json.loads(path.read_text(encoding="utf-8"))
    (target,) = [f for f in spec["fields"] if f["name"] == field]
    change(target)
    path.write_text(json.dumps(spec, ensure_ascii=False, indent=2), encoding="utf-8")


def test_all_seven_specs_load() -> None:
    specs = load_specs()
    assert sorted(specs) == sorted(TRACKERS)
    assert len(specs) == 7
    for name, spec in specs.items():
        assert spec.name == name
        assert spec.fields, name
        assert spec.required, f"{name} has no required column"
        assert spec.sheet_titles, name
        # every spec also builds its pandera schema
        assert set(spec.schema.columns) == {f.name for f in spec.fields}


def test_specs_hold_the_design_columns() -> None:
    specs = load_specs()
    plan = specs["plan_actions"]
    assert [f.title for f in plan.required] == ["N° action", "Action", "Échéance", "État"]
    assert plan.by_name["etat"].enum == ("À faire", "En cours", "Fait", "Abandonné")
    assert plan.by_name["avancement"].format == "percent"
    assert plan.matches_title("Plan d'actions")
    assert specs["courriers"].matches_title("Délais")
    assert specs["indicateurs"].by_name["periode"].type == "month"


def _plan_with_unknown_alias_and_value(path: Path) -> Path:
    return make_workbook(
        path,
        {
            "Plan d'actions": [
                ["N° action", "Action", "Jalon", "État"],
                ["A1", "Accueil", dt.date(2027, 1, 15), "Suspendu"],
                ["A2", "Courriers", dt.date(2027, 2, 1), "En cours"],
            ]
        },
    )


def test_adding_an_allowed_value_or_a_header_alias_to_a_spec_file_changes_the_result(
    tmp_path: Path, schemas: Path, today: dt.date
) -> None:
    book = _plan_with_unknown_alias_and_value(tmp_path / "plan.xlsx")
    config = Config(path=None, sources=(Source("BRCIE", "BRCIE", book),), schemas_dir=schemas)

    before = run_check(config, today).report.findings
    messages = [f.message for f in before]
    assert any("colonne obligatoire « Échéance » absente" in m for m in messages), messages
    assert any("« Suspendu » n'est pas une valeur autorisée" in m for m in messages), messages

    edit_spec(schemas, "plan_actions", "echeance", lambda f: f["aliases"].append("Jalon"))
    edit_spec(
        schemas, "plan_actions", "etat", lambda f: f["constraints"]["enum"].append("Suspendu")
    )

    after = run_check(config, today)
    assert after.report.findings == []
    (table,) = after.tables("plan_actions")
    assert table.value(2, "echeance") == dt.date(2027, 1, 15)
    assert table.value(2, "etat") == "Suspendu"


def test_adding_a_value_alias_to_a_spec_file_maps_it_to_the_allowed_value(
    tmp_path: Path, schemas: Path, today: dt.date
) -> None:
    book = make_workbook(
        tmp_path / "plan.xlsx",
        {
            "Plan d'actions": [
                ["N° action", "Action", "Échéance", "État"],
                ["A1", "Accueil", dt.date(2027, 1, 15), "Bouclé"],
            ]
        },
    )
    config = Config(path=None, sources=(Source("BRCIE", "BRCIE", book),), schemas_dir=schemas)
    (finding,) = run_check(config, today).report.findings
    assert finding.cell == "D2"
    assert "« Bouclé » n'est pas une valeur autorisée" in finding.message

    edit_spec(schemas, "plan_actions", "etat", lambda f: f["valueAliases"]["Fait"].append("bouclé"))

    after = run_check(config, today)
    (table,) = after.tables("plan_actions")
    assert table.value(2, "etat") == "Fait"
    assert all("Bouclé" not in f.message for f in after.report.findings)


def test_the_shipped_schemas_do_not_know_the_test_alias_and_value() -> None:
    # Guards the test above: it must start from findings, not from an already edited spec.
    plan = load_specs()["plan_actions"]
    assert "jalon" not in plan.header_index
    assert plan.by_name["etat"].canonical("Suspendu") is None


# --- invalid spec files ----------------------------------------------------------------------


def test_bad_json_is_a_spec_error_with_the_file_name_and_line(schemas: Path) -> None:
    path = schemas / "plan_actions.json"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[2] = lines[2].rstrip(",")  # drop a comma between two keys, on line 3
    path.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(SpecError) as exc:
        load_specs(schemas)
    message = str(exc.value)
    assert "plan_actions.json" in message
    assert "JSON invalide" in message
    assert "ligne 4" in message


def test_unknown_field_type_is_a_spec_error_naming_file_field_and_type(schemas: Path) -> None:
    edit_spec(schemas, "documents", "date_prevue", lambda f: f.update(type="datetime"))
    with pytest.raises(SpecError) as exc:
        load_specs(schemas)
    message = str(exc.value)
    assert "documents.json" in message
    assert "date_prevue" in message
    assert "type « datetime » inconnu" in message


def test_value_alias_of_a_value_not_in_enum_is_a_spec_error(schemas: Path) -> None:
    edit_spec(
        schemas,
        "plan_actions",
        "etat",
        lambda f: f["valueAliases"].update({"Suspendu": ["En pause"]}),
    )
    with pytest.raises(SpecError) as exc:
        load_specs(schemas)
    message = str(exc.value)
    assert "plan_actions.json" in message
    assert "valueAliases" in message
    assert "« Suspendu »" in message


def test_unknown_constraint_is_a_spec_error(schemas: Path) -> None:
    edit_spec(schemas, "formations", "agent", lambda f: f["constraints"].update(requis=True))
    with pytest.raises(SpecError, match=r"formations\.json.*contrainte inconnue requis"):
        load_specs(schemas)


def test_invalid_pattern_is_a_spec_error(schemas: Path) -> None:
    edit_spec(schemas, "documents", "reference", lambda f: f["constraints"].update(pattern="[A-"))
    with pytest.raises(SpecError, match=r"documents\.json.*motif \(pattern\) invalide"):
        load_specs(schemas)


def test_missing_spec_file_is_a_spec_error_naming_it(schemas: Path) -> None:
    (schemas / "formations.json").unlink()
    with pytest.raises(SpecError, match=r"« formations\.json » absent"):
        load_specs(schemas)


def test_load_spec_of_a_single_file_reports_its_name(tmp_path: Path) -> None:
    path = tmp_path / "perso.json"
    path.write_text('{"name": "perso", "fields": [}', encoding="utf-8")
    with pytest.raises(SpecError, match=r"^perso\.json : JSON invalide ligne 1"):
        load_spec(path)


def test_cli_with_a_bad_spec_exits_2_with_one_french_line(tmp_path: Path, schemas: Path) -> None:
    edit_spec(schemas, "plan_actions", "echeance", lambda f: f.update(type="quand"))
    book = _plan_with_unknown_alias_and_value(tmp_path / "plan.xlsx")
    config = tmp_path / "qep-sync.toml"
    config.write_text(
        '[workspace]\nschemas_dir = "schemas"\n\n'
        f'[[sources]]\nservice = "BRCIE"\nxlsx = "{book.name}"\n',
        encoding="utf-8",
    )
    result = CliRunner().invoke(
        main, ["check", "-c", str(config), "--today", "2026-11-26"], catch_exceptions=False
    )
    assert result.exit_code == 2
    assert result.stderr.startswith("Erreur : plan_actions.json")
    assert "type « quand » inconnu" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output
