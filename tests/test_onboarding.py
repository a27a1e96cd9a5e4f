"""Getting started (docs/contract.md §6): `check -c CFG FILE` reads FILE as the config says,
`specs export DIR` gives the spec files to edit, and a sheet that no tracker recognises is
explained (the closest sheet and the required headers it lacks)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from conftest import TODAY, make_workbook

from qep_sync.cli import main
from qep_sync.core.specs import load_specs
from qep_sync.resources import data_dir
from qep_sync.vocabulary import TRACKERS

LETTERS = [
    ["Numéro", "Canal", "Reçu le", "Objet"],  # « Reçu le »: no tracker's own title
    ["2026-001", "Courriel", TODAY, "Titre de séjour"],
]


def _invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, [*args, "--today", TODAY.isoformat()])
    return result.exit_code, result.output


def _workspace(folder: Path) -> Path:
    """BAS's workbook keeps its letters in « Feuil1 », which the config maps to courriers (its
    header lacks « Date de réception »: not enough to be recognised on its own)."""
    (folder / "services").mkdir(parents=True)
    make_workbook(folder / "services" / "BAS.xlsx", {"Feuil1": [
        ["N°", "Canal", "Objet"],
        ["2026-001", "Courriel", "Titre de séjour"],
        ["2026-002", "Pigeon", "Naturalisation"],
    ]})  # fmt: skip
    make_workbook(folder / "ailleurs.xlsx", {"Feuil1": LETTERS})
    config = folder / "qep-sync.toml"
    config.write_text(
        '[[sources]]\nservice = "BAS"\nname = "Bureau de l\'admission au séjour"\n'
        'path = "services/BAS.xlsx"\nsheets = { "Feuil1" = "courriers" }\n',
        encoding="utf-8",
    )
    return config


# ---------------------------------------------------------------- check -c CFG FILE


def test_check_of_a_file_alone_does_not_know_its_sheets(tmp_path: Path) -> None:
    _workspace(tmp_path)
    code, out = _invoke("check", str(tmp_path / "services" / "BAS.xlsx"))
    assert code == 1
    assert "aucun onglet de suivi reconnu (onglets : « Feuil1 »)" in out
    assert ("l'onglet « Feuil1 » ressemble le plus au suivi Délais (en-tête ligne 1), mais il "
            "lui manque la colonne obligatoire « Date de réception »") in out  # fmt: skip


def test_check_c_file_reads_it_with_its_config_entry(tmp_path: Path) -> None:
    config = _workspace(tmp_path)
    code, out = _invoke("check", "-c", str(config), str(tmp_path / "services" / "BAS.xlsx"))
    assert code == 1  # the letter sent by « Pigeon » is an error
    assert "BAS — Bureau de l'admission au séjour (BAS.xlsx)" in out
    assert "Feuil1 (2 lignes) :" in out
    assert "« Pigeon » n'est pas une valeur autorisée" in out
    code, out = _invoke("check", "-c", str(config), str(tmp_path / "services" / "BAS.xlsx"),
                        "--format", "json")  # fmt: skip
    report = json.loads(out)
    assert [(s["service"], s["sheets"][0]["tracker"]) for s in report["sources"]] == [
        ("BAS", "courriers")]  # fmt: skip


def test_check_c_with_a_file_outside_the_config_names_it_after_the_file(tmp_path: Path) -> None:
    config = _workspace(tmp_path)
    _, out = _invoke("check", "-c", str(config), str(tmp_path / "ailleurs.xlsx"),
                        str(tmp_path / "services" / "BAS.xlsx"), "--format", "json")  # fmt: skip
    sources = json.loads(out)["sources"]
    assert [s["service"] for s in sources] == ["ailleurs", "BAS"]  # as typed


def test_sync_c_file_writes_its_mapped_sheet_but_no_consolidation_nor_journal(
    tmp_path: Path,
) -> None:
    config = _workspace(tmp_path)
    code, out = _invoke("sync", "-c", str(config), str(tmp_path / "services" / "BAS.xlsx"))
    assert code == 0, out
    assert "BAS.xlsx : " in out and "écrites" in out
    assert not (tmp_path / "Consolidation qualité.xlsx").exists()
    assert not (tmp_path / ".qep-sync" / "journal.sqlite").exists()


# ---------------------------------------------------------------- no tracker recognised


def test_the_closest_sheet_and_its_missing_required_headers_are_named(tmp_path: Path) -> None:
    book = tmp_path / "suivi.xlsx"
    make_workbook(book, {
        "Notes": [["Réunion du 3 mars"]],
        "Feuil1": [["Titre"], ["N° action", "Action", "Pilote", "Date butoir"],
                   ["A1", "Afficher", "BAS", TODAY]],
    })  # fmt: skip
    code, out = _invoke("check", str(book))
    assert code == 1
    assert ("l'onglet « Feuil1 » ressemble le plus au suivi Plan d'actions (en-tête ligne 2), "
            "mais il lui manque la colonne obligatoire « État »") in out  # fmt: skip
    assert "complétez son en-tête" in out


def test_a_workbook_with_no_tracker_header_at_all_gets_no_false_hint(tmp_path: Path) -> None:
    book = tmp_path / "budget.xlsx"
    make_workbook(book, {"Budget": [["Poste", "Montant"], ["Papier", 120]]})  # « Poste »: one word
    code, out = _invoke("check", str(book))
    assert code == 1 and "aucun onglet de suivi reconnu" in out
    assert "ressemble" not in out


# ---------------------------------------------------------------- specs export


def test_specs_export_writes_the_shipped_spec_files(tmp_path: Path) -> None:
    target = tmp_path / "schemas"
    code, out = _invoke("specs", "export", str(target))
    assert code == 0, out
    assert out.startswith(f"7 fichiers de description copiés dans {target} :")
    assert sorted(p.name for p in target.iterdir()) == sorted(f"{t}.json" for t in TRACKERS)
    for path in target.iterdir():
        assert path.read_bytes() == (data_dir("schemas") / path.name).read_bytes()
    assert set(load_specs(target)) == set(TRACKERS)


def test_specs_export_refuses_to_overwrite_an_edited_file_unless_forced(tmp_path: Path) -> None:
    target = tmp_path / "schemas"
    target.mkdir()
    edited = target / "plan_actions.json"
    edited.write_text('{"mes": "modifications"}', encoding="utf-8")
    code, out = _invoke("specs", "export", str(target))
    assert code == 2
    assert "contient déjà plan_actions.json : rien n'a été écrit" in out and "--force" in out
    assert [p.name for p in target.iterdir()] == ["plan_actions.json"]
    assert edited.read_text(encoding="utf-8") == '{"mes": "modifications"}'
    code, out = _invoke("specs", "export", str(target), "--force")
    assert code == 0
    assert edited.read_bytes() == (data_dir("schemas") / "plan_actions.json").read_bytes()


def test_an_exported_copy_is_what_schemas_dir_then_reads(tmp_path: Path) -> None:
    config = _workspace(tmp_path)
    _invoke("specs", "export", str(tmp_path / "schemas"))
    spec = tmp_path / "schemas" / "courriers.json"
    data = json.loads(spec.read_text(encoding="utf-8"))
    canal = next(f for f in data["fields"] if f["name"] == "canal")
    canal["constraints"]["enum"].append("Pigeon")  # the quality lead allows a new channel
    spec.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
    config.write_text('[workspace]\nschemas_dir = "schemas"\n' + config.read_text("utf-8"),
                      encoding="utf-8")  # fmt: skip
    _, out = _invoke("check", "-c", str(config))
    assert "Pigeon" not in out  # allowed now: only the missing column is left
    assert "1 erreur" in out and "« Date de réception » absente" in out
