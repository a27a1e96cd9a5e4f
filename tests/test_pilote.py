"""``qep-sync export pilote``: the month's indicators in PILOTE's import format (docs/contract.md §8).

Real workbooks (a service's, another's, the quality mission's central one) and a real
config; the CSV is validated against the Table Schema written below (types, required, the
composite key unique) by a small validator that a test proves strict. Also: the choice of a
value when several services report an indicator, unmapped and missing indicators as
warnings, formulas neutralised while numbers stay numbers, the ``[pilote]`` section checked
on load, an output that cannot be written, and the command end to end with its exit codes.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from conftest import TODAY, Percent, make_workbook

from qep_sync.cli import main
from qep_sync.config import PiloteIndicator, load_config, parse_config
from qep_sync.errors import ConfigError, UsageError, WriteBackError
from qep_sync.jobs.pilote import (
    FIELDS,
    PiloteRow,
    csv_text,
    last_complete_month,
    number_text,
    pilote_number,
    run_pilote_export,
)
from qep_sync.text import FORMULA_START, no_formula

ROOT = Path(__file__).resolve().parents[1]

# PILOTE's import schema (Table Schema « Indicateur Pilote »), as this export must meet it:
# the key is the indicator, the zone and the date (one type of value per indicator).
SCHEMA: dict[str, Any] = {
    "fields": [
        {"name": "identifiant_indic", "type": "string",
         "constraints": {"required": True, "pattern": "^IND-[0-9]{3,4}$"}},
        {"name": "zone_id", "type": "string",
         "constraints": {"required": True, "pattern":
                         "^(D([02][1-9]|2[AB]|[1345678][0-9]|9[012345]|97[12346])"
                         "|R(0[12346]|11|2[478]|32|44|5[23]|7[56]|84|9[34])|FRANCE)$"}},
        {"name": "date_valeur", "type": "date", "constraints": {"required": True}},
        {"name": "type_valeur", "type": "string",
         "constraints": {"required": True, "enum": ["vi", "va", "vc"]}},
        {"name": "valeur", "type": "number", "constraints": {"required": True}},
    ],
    "primaryKey": ["identifiant_indic", "zone_id", "date_valeur"],
}  # fmt: skip

# Table Schema's lexical forms: a date is ISO 8601 (its default format), a number uses a dot
# and no group separator (decimalChar ".", groupChar none), NaN and INF aside.
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def schema_errors(text: str, schema: dict[str, Any] = SCHEMA) -> list[str]:
    """What a Table Schema validator finds in a CSV: header, types, constraints, primary key."""
    rows = list(csv.reader(io.StringIO(text, newline="")))
    fields = schema["fields"]
    names = [f["name"] for f in fields]
    if not rows or rows[0] != names:
        return [f"en-tête {rows[0] if rows else None} au lieu de {names}"]
    errors: list[str] = []
    keys: dict[tuple[str, ...], int] = {}
    for n, row in enumerate(rows[1:], start=2):
        if len(row) != len(fields):
            errors.append(f"ligne {n} : {len(row)} cellules")
            continue
        for f, cell in zip(fields, row, strict=True):
            where = f"ligne {n}, {f['name']} « {cell} »"
            rules = f.get("constraints", {})
            if cell == "":
                if rules.get("required"):
                    errors.append(f"{where} : obligatoire")
                continue
            if f["type"] == "date":
                try:
                    ok = bool(_DATE.match(cell)) and bool(dt.date.fromisoformat(cell))
                except ValueError:
                    ok = False
                if not ok:
                    errors.append(f"{where} : date invalide")
            elif f["type"] == "number" and not _NUMBER.match(cell):
                errors.append(f"{where} : nombre invalide")
            if "pattern" in rules and not re.fullmatch(rules["pattern"], cell):
                errors.append(f"{where} : motif")
            if "enum" in rules and cell not in rules["enum"]:
                errors.append(f"{where} : hors liste")
        key = tuple(row[names.index(k)] for k in schema["primaryKey"])
        if key in keys:
            errors.append(f"ligne {n} : clé {key} déjà en ligne {keys[key]}")
        keys.setdefault(key, n)
    return errors


def records(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


# --------------------------------------------------------------------------- the workspace

HEADER = ["Indicateur", "Service", "Période", "Valeur", "Cible", "Sens", "Unité", "Source"]
OCTOBER, SEPTEMBER = "2026-10", dt.date(2026, 9, 1)
HOSTILE = '=HYPERLINK("http://exemple.invalid","clic")'

CONFIG = """
[[sources]]
service = "BAS"
name = "Bureau de l'admission au séjour"
path = "services/BAS.xlsx"

[[sources]]
service = "BRCIE"
name = "Bureau de la représentation et de la communication interministérielle de l'État"
path = "services/BRCIE.xlsx"

[[sources]]
service = "MQ"
name = "Mission qualité"
path = "qualite/Indicateurs.xlsx"
central = true
"""

PILOTE = """
[pilote]
zone = "D25"

[pilote.indicateurs."TAUX DE DECROCHE "]         # spelt otherwise than in the sheets
identifiant = "IND-101"
type_valeur = "va"

[pilote.indicateurs."Délai moyen de délivrance"]
identifiant = "IND-102"                           # type_valeur: va by default

[pilote.indicateurs."Écart au délai cible"]
identifiant = "IND-103"
type_valeur = "va"

[pilote.indicateurs]
"Satisfaction des usagers" = { identifiant = "IND-104", type_valeur = "va" }
"Taux de réponse" = { identifiant = "IND-105" }
"Délai de rappel" = { identifiant = "IND-106" }
"Indicateur absent" = { identifiant = "IND-107" }
"Taux d'accueil" = { identifiant = "IND-108" }
"""


def _write_workbooks(folder: Path) -> None:
    (folder / "services").mkdir(parents=True)
    (folder / "qualite").mkdir()
    make_workbook(folder / "services" / "BAS.xlsx", {"Indicateurs": [
        HEADER,
        ["Taux de décroché", None, OCTOBER, Percent(0.92), Percent(0.9), "≥", "%", "PILOT"],
        ["Taux de décroché", None, SEPTEMBER, Percent(0.88), Percent(0.9), "≥", "%", "PILOT"],
        ["Délai moyen de délivrance", None, OCTOBER, 12.5, 15, "≤", "jours", "Manuel"],
        ["Écart au délai cible", None, OCTOBER, -2.5, 0, "≤", "jours", "Manuel"],
        ["Satisfaction des usagers", None, OCTOBER, Percent(0.8), None, None, "%", "SPHINX"],
        ["Taux de réponse", None, OCTOBER, Percent(0.7), None, None, "%", "Manuel"],
        ["Délai de rappel", None, OCTOBER, "n.c.", None, None, "jours", "Manuel"],
        ["Taux d'accueil", None, OCTOBER, Percent(0.5), None, None, "%", "Manuel"],
        ["Taux d'accueil", None, OCTOBER, Percent(0.6), None, None, "%", "Manuel"],
        ["Nombre de réclamations", None, OCTOBER, 14, None, None, None, "Manuel"],
        [HOSTILE, None, OCTOBER, 3, None, None, None, "Autre"],
    ]})  # fmt: skip
    make_workbook(folder / "services" / "BRCIE.xlsx", {"Indicateurs": [
        HEADER,
        ["Satisfaction des usagers", None, OCTOBER, Percent(0.9), None, None, "%", "SPHINX"],
        ["Taux de réponse", "BRCIE", OCTOBER, Percent(0.6), None, None, "%", "Manuel"],
    ]})  # fmt: skip
    make_workbook(folder / "qualite" / "Indicateurs.xlsx", {"Indicateurs": [
        HEADER,
        ["Satisfaction des usagers", "Tous services", OCTOBER, Percent(0.85), None, None, "%",
         "SPHINX"],
        ["Satisfaction des usagers", "Tous services", SEPTEMBER, Percent(0.83), None, None, "%",
         "SPHINX"],
    ]})  # fmt: skip


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    _write_workbooks(tmp_path)
    (tmp_path / "qep-sync.toml").write_text(CONFIG + PILOTE, encoding="utf-8")
    return tmp_path


OUTPUT = "pilote-D25-2026-10.csv"  # the default name, in the config's folder


def invoke(folder: Path, *args: str, today: dt.date = TODAY) -> Result:
    config = str(folder / "qep-sync.toml")
    argv = ["export", "pilote", "-c", config, "--today", today.isoformat(), *args]
    return CliRunner().invoke(main, argv, catch_exceptions=False)


# --------------------------------------------------------------------------- the export


def test_the_export_validates_against_pilotes_table_schema(workspace: Path) -> None:
    result = run_pilote_export(load_config(workspace / "qep-sync.toml"), TODAY)
    assert result.path == workspace / OUTPUT
    text = result.path.read_text(encoding="utf-8")
    assert schema_errors(text) == []
    assert text.splitlines()[0] == ",".join(FIELDS)
    assert result.path.read_bytes().endswith(b"\r\n")  # RFC 4180 line ends, no BOM
    assert result.path.read_bytes().startswith(b"identifiant_indic,")


def test_one_row_per_mapped_indicator_dated_the_last_day_of_the_month(workspace: Path) -> None:
    run_pilote_export(load_config(workspace / "qep-sync.toml"), TODAY)
    rows = records((workspace / OUTPUT).read_text(encoding="utf-8"))
    assert [(r["identifiant_indic"], r["valeur"]) for r in rows] == [
        ("IND-101", "92"),  # 92 % (a percent cell), as PILOTE wants it: 0-100; September's aside
        ("IND-102", "12.5"),  # a dot, never a decimal comma
        ("IND-103", "-2.5"),  # a negative number stays a number
        ("IND-104", "85"),  # the « Tous services » row, not BAS's 80 nor BRCIE's 90
    ]
    assert {(r["zone_id"], r["date_valeur"], r["type_valeur"]) for r in rows} == {
        ("D25", "2026-10-31", "va")
    }


def test_unmapped_missing_and_ambiguous_indicators_are_warnings_and_no_row(workspace: Path) -> None:
    result = run_pilote_export(load_config(workspace / "qep-sync.toml"), TODAY)
    text = (workspace / OUTPUT).read_text(encoding="utf-8")
    warnings = "\n".join(result.warnings)
    for identifier in ("IND-105", "IND-106", "IND-107", "IND-108"):
        assert identifier not in text
    assert ("« Taux de réponse » (IND-105) : valeurs de plusieurs services pour octobre 2026 "
            "(BAS : 70, BRCIE : 60) et aucune ligne « Tous services »") in warnings  # fmt: skip
    assert "n'additionne ni ne fait la moyenne" in warnings
    assert ("« Délai de rappel » (IND-106) : valeur vide ou illisible pour octobre 2026 "
            "(BAS.xlsx, onglet Indicateurs, ligne 8)") in warnings  # fmt: skip
    assert "« Indicateur absent » (IND-107) : aucune valeur pour octobre 2026" in warnings
    assert "« Taux d'accueil » (IND-108) : plusieurs valeurs différentes" in warnings
    assert ("« Nombre de réclamations » : indicateur sans correspondance dans "
            "[pilote.indicateurs] : pas exporté") in warnings  # fmt: skip
    assert f"« {HOSTILE} » : indicateur sans correspondance" in warnings
    assert "HYPERLINK" not in text  # never a guessed identifier, never a user's text
    assert len(result.warnings) == 6
    assert not result.failed


def test_another_month_is_chosen_with_month(workspace: Path) -> None:
    config = load_config(workspace / "qep-sync.toml")
    result = run_pilote_export(config, TODAY, month=SEPTEMBER)
    rows = records(result.path.read_text(encoding="utf-8"))
    assert result.path.name == "pilote-D25-2026-09.csv"
    assert [(r["identifiant_indic"], r["date_valeur"], r["valeur"]) for r in rows] == [
        ("IND-101", "2026-09-30", "88"),
        ("IND-104", "2026-09-30", "83"),
    ]


@pytest.mark.parametrize(
    ("today", "month"),
    [
        (dt.date(2026, 11, 26), dt.date(2026, 10, 1)),
        (dt.date(2026, 11, 30), dt.date(2026, 10, 1)),  # November is not over yet
        (dt.date(2026, 12, 1), dt.date(2026, 11, 1)),
        (dt.date(2027, 1, 15), dt.date(2026, 12, 1)),  # over the turn of the year
    ],
)
def test_the_default_month_is_the_last_complete_one(today: dt.date, month: dt.date) -> None:
    assert last_complete_month(today) == month


def test_the_current_month_is_exported_with_a_warning_a_future_one_refused(
    workspace: Path,
) -> None:
    config = load_config(workspace / "qep-sync.toml")
    result = run_pilote_export(config, dt.date(2026, 10, 20), month=dt.date(2026, 10, 1))
    assert (
        result.warnings[0] == "octobre 2026 n'est pas terminé : ses valeurs peuvent encore changer"
    )
    with pytest.raises(UsageError, match=r"le mois 2026-12 n'a pas commencé"):
        run_pilote_export(config, TODAY, month=dt.date(2026, 12, 1))


def test_the_validator_is_strict() -> None:
    good = "identifiant_indic,zone_id,date_valeur,type_valeur,valeur\r\nIND-101,D25,2026-10-31,va,92\r\n"
    assert schema_errors(good) == []
    bad = {
        "IND-101,D25,2026-10-31,va,92,5": "6 cellules",
        'IND-101,D25,2026-10-31,va,"92,5"': "nombre invalide",  # a decimal comma
        "IND-101,D25,2026-10-31,va,'-2.5": "nombre invalide",  # a neutralised number is text
        "IND-101,D25,31/10/2026,va,92": "date invalide",
        "IND-101,D25,2026-02-30,va,92": "date invalide",
        "IND-101,D025,2026-10-31,va,92": "motif",
        "IND-101,D25,2026-10-31,valeur,92": "hors liste",
        "101,D25,2026-10-31,va,92": "motif",
        "IND-101,D25,2026-10-31,va,": "obligatoire",
        "IND-101,D25,2026-10-31,va,92\r\nIND-101,D25,2026-10-31,vc,90": "déjà en ligne 2",
    }
    for line, error in bad.items():
        found = schema_errors(good.splitlines()[0] + "\r\n" + line + "\r\n")
        assert any(error in e for e in found), (line, found)
    assert schema_errors("zone_id,valeur\r\n") != []


# --------------------------------------------------------------------------- numbers, formulas


@pytest.mark.parametrize(
    ("value", "percent", "text"),
    [
        (0.92, True, "92"),
        (0.925, True, "92.5"),
        (1 / 3, True, "33.3333333333333"),
        (0.1 + 0.2, False, "0.3"),  # 15 significant digits, as Excel keeps them
        (1_000_000, False, "1000000"),  # never 1E+6
        (0.0001, False, "0.0001"),
        (-2.5, False, "-2.5"),
        (-0.25, True, "-25"),
        (-0.0, False, "0"),
        (12, False, "12"),
    ],
)
def test_values_are_numbers_with_a_dot_and_percentages_0_to_100(
    value: float, percent: bool, text: str
) -> None:
    number = pilote_number(value, percent)
    assert number is not None
    assert number_text(number) == text
    assert _NUMBER.match(text)


def test_a_value_that_is_no_finite_number_is_none() -> None:
    assert pilote_number(float("nan"), False) is None
    assert pilote_number(float("inf"), True) is None


@pytest.mark.parametrize("start", FORMULA_START)
def test_a_text_cell_starting_like_a_formula_gets_an_apostrophe(start: str) -> None:
    assert no_formula(f"{start}1+1") == f"'{start}1+1"
    assert no_formula(f"IND-101{start}") == f"IND-101{start}"


def test_every_text_cell_is_neutralised_and_numbers_stay_numbers() -> None:
    # the config refuses such identifiers; the writer neutralises them all the same
    mapping = PiloteIndicator("x", "=1+1", "@va")
    row = PiloteRow(mapping, "-D25", dt.date(2026, 10, 1), Decimal("-2.5"), "x", "BAS")
    text = csv_text([row])
    assert text.splitlines()[1] == "'=1+1,'-D25,2026-10-31,'@va,-2.5"
    cells = next(csv.reader(io.StringIO(text.splitlines()[1])))
    assert cells[4] == "-2.5" and float(cells[4]) == -2.5


# --------------------------------------------------------------------------- the [pilote] section


def _parse(pilote: Any, tmp_path: Path) -> Any:
    make_workbook(tmp_path / "BAS.xlsx", {"Indicateurs": [HEADER]})
    return parse_config({"sources": [{"service": "BAS", "path": "BAS.xlsx"}], "pilote": pilote},
                        tmp_path)  # fmt: skip


IND = {"identifiant": "IND-101"}


@pytest.mark.parametrize(
    ("pilote", "key", "says"),
    [
        ("D25", "pilote", "doit être une section [pilote]"),
        ({}, "pilote.zone", 'zone PILOTE obligatoire : le département (par exemple "D25"'),
        ({"zone": 25}, "pilote.zone", "doit être un texte, « 25 » trouvé"),
        ({"zone": "Doubs"}, "pilote.zone", "zone PILOTE invalide « Doubs »"),
        ({"zone": "D025"}, "pilote.zone", "sur deux chiffres (D25 pour le Doubs"),
        ({"zone": "D25", "zones": "D25"}, "pilote.zones", "clé inconnue"),
        ({"zone": "D25", "indicateurs": ["IND-101"]}, "pilote.indicateurs", "doit être une table"),
        ({"zone": "D25", "indicateurs": {"Taux": "IND-101"}}, 'pilote.indicateurs."Taux"',
         'table attendue, le texte « IND-101 » trouvé : par exemple { identifiant = "IND-101"'),
        ({"zone": "D25", "indicateurs": {" ": IND}}, 'pilote.indicateurs." "',
         "nom d'indicateur vide"),
        ({"zone": "D25", "indicateurs": {"Taux": {}}}, 'pilote.indicateurs."Taux".identifiant',
         "identifiant PILOTE obligatoire"),
        ({"zone": "D25", "indicateurs": {"Taux": {"identifiant": "101"}}},
         'pilote.indicateurs."Taux".identifiant', "identifiant PILOTE invalide « 101 » : IND-"),
        ({"zone": "D25", "indicateurs": {"Taux": {"identifiant": 101}}},
         'pilote.indicateurs."Taux".identifiant', "doit être un texte"),
        ({"zone": "D25", "indicateurs": {"Taux": {**IND, "type_valeur": "valeur"}}},
         'pilote.indicateurs."Taux".type_valeur', "« valeur » : va (valeur actuelle), vi"),
        ({"zone": "D25", "indicateurs": {"Taux": {**IND, "cible": 90}}},
         'pilote.indicateurs."Taux".cible', "clé inconnue"),
        ({"zone": "D25", "indicateurs": {"Taux décroché": IND, "TAUX DECROCHE": IND}},
         'pilote.indicateurs."TAUX DECROCHE"', "même indicateur que « Taux décroché »"),
        ({"zone": "D25", "indicateurs": {"A": IND, "B": {"identifiant": "ind-101"}}},
         'pilote.indicateurs."B".identifiant', "identifiant déjà donné à « A »"),
    ],
)  # fmt: skip
def test_a_bad_pilote_section_is_a_config_error_naming_its_key(
    pilote: Any, key: str, says: str, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError) as caught:
        _parse(pilote, tmp_path)
    assert caught.value.key == key
    assert str(caught.value).startswith(f"{key} : ")
    assert says in str(caught.value)


def test_a_good_pilote_section_is_read_leniently(tmp_path: Path) -> None:
    entries = {"Taux de décroché": {"identifiant": " ind-101 ", "type_valeur": "VC"},
               "Délai": {"identifiant": "IND-1020"}}  # fmt: skip
    pilote = _parse({"zone": " d25 ", "indicateurs": entries}, tmp_path).pilote
    assert pilote.zone == "D25"
    assert pilote.indicators == (
        PiloteIndicator("Taux de décroché", "IND-101", "vc"),
        PiloteIndicator("Délai", "IND-1020", "va"),
    )
    assert pilote.indicator("  taux de DECROCHE") == pilote.indicators[0]
    assert pilote.indicator("Taux de réponse") is None
    assert _parse({"zone": "FRANCE"}, tmp_path).pilote.indicators == ()


def test_the_documented_toml_shape_loads(workspace: Path) -> None:
    config = load_config(workspace / "qep-sync.toml")
    assert config.pilote is not None
    assert [(i.name, i.identifiant, i.type_valeur) for i in config.pilote.indicators][:3] == [
        ("TAUX DE DECROCHE", "IND-101", "va"),
        ("Délai moyen de délivrance", "IND-102", "va"),
        ("Écart au délai cible", "IND-103", "va"),
    ]
    doc = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert '[pilote.indicateurs."Taux de décroché"]' in doc


def test_without_a_pilote_section_the_export_is_refused(workspace: Path) -> None:
    (workspace / "qep-sync.toml").write_text(CONFIG, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        run_pilote_export(load_config(workspace / "qep-sync.toml"), TODAY)
    assert caught.value.key == "pilote"
    assert "aucune section [pilote] dans la configuration" in str(caught.value)
    assert not (workspace / OUTPUT).exists()


# --------------------------------------------------------------------------- writing


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_an_existing_export_is_replaced_whole(workspace: Path) -> None:
    target = workspace / OUTPUT
    target.write_text("ancien contenu\n", encoding="utf-8")
    run_pilote_export(load_config(workspace / "qep-sync.toml"), TODAY)
    assert schema_errors(target.read_text(encoding="utf-8")) == []
    assert _leftovers(workspace) == []


def test_an_export_open_in_a_spreadsheet_is_left_as_it_is(workspace: Path) -> None:
    target = workspace / OUTPUT
    target.write_text("ancien contenu\n", encoding="utf-8")
    (workspace / f"~${OUTPUT}").write_text("", encoding="utf-8")  # Excel's owner file
    with pytest.raises(WriteBackError, match=r"laissé tel quel : ouvert par un utilisateur"):
        run_pilote_export(load_config(workspace / "qep-sync.toml"), TODAY)
    assert target.read_text(encoding="utf-8") == "ancien contenu\n"
    assert _leftovers(workspace) == []
    result = invoke(workspace)  # the command: exit 1, one French line, the file unchanged
    assert result.exit_code == 1
    assert f"Erreur : {target} laissé tel quel : ouvert par un utilisateur" in result.output
    assert target.read_text(encoding="utf-8") == "ancien contenu\n"


@pytest.mark.parametrize(
    ("output", "says"),
    [
        ("services/BAS.xlsx", "BAS.xlsx : fichier .csv attendu pour l'export PILOTE (--output)"),
        ("qep-sync.toml/export.csv", "qep-sync.toml n'est pas un dossier"),
    ],
)
def test_an_output_that_cannot_be_written_is_a_french_error(
    workspace: Path, output: str, says: str
) -> None:
    before = (workspace / "services" / "BAS.xlsx").read_bytes()
    with pytest.raises(UsageError, match=re.escape(says)):
        run_pilote_export(
            load_config(workspace / "qep-sync.toml"), TODAY, output=workspace / output
        )
    assert (workspace / "services" / "BAS.xlsx").read_bytes() == before


AS_AN_AGENT = """
import os, sys
from qep_sync.cli import main
warm, args = sys.argv[1], sys.argv[2:]
if os.geteuid() == 0:  # root writes everywhere, an agent's account does not: become nobody,
    try:  # once every module is loaded (nobody may not read root's Python): a first run
        main([*args[:-1], warm], prog_name="qep-sync")
    except SystemExit:
        pass
    os.setgid(65534)
    os.setuid(65534)
main(args, prog_name="qep-sync")
"""


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_a_folder_that_is_not_writable_is_a_french_error_and_nothing_is_written() -> None:
    folder = Path(tempfile.mkdtemp(prefix="qep-sync-pilote-"))  # in /tmp: any account reaches it
    try:
        _write_workbooks(folder)
        (folder / "qep-sync.toml").write_text(CONFIG + PILOTE, encoding="utf-8")
        for path in [folder, *folder.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        locked = folder / "sortie"
        locked.mkdir()
        locked.chmod(0o555)
        result = subprocess.run(  # --output last: the warm-up run replaces it
            [sys.executable, "-c", AS_AN_AGENT, str(folder / "essai.csv"), "export", "pilote", "-c",
             str(folder / "qep-sync.toml"), "--today", TODAY.isoformat(),
             "--output", str(locked / "pilote.csv")],
            capture_output=True, text=True, timeout=120, cwd=ROOT,
        )  # fmt: skip
        assert result.returncode == 1, result.stdout + result.stderr
        assert (f"Erreur : écriture impossible de {locked / 'pilote.csv'} (droits insuffisants "
                "sur le fichier ou son dossier) : rien n'a été écrit") in result.stderr  # fmt: skip
        assert "Traceback" not in result.stderr
        assert list(locked.iterdir()) == []
    finally:
        shutil.rmtree(folder)


# --------------------------------------------------------------------------- the command


def test_the_command_writes_the_export_and_lists_rows_and_warnings(workspace: Path) -> None:
    result = invoke(workspace)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == (f"Export PILOTE pour octobre 2026 (zone D25) : 4 lignes écrites dans "
                        f"{workspace / OUTPUT}")  # fmt: skip
    assert "  IND-101 va 92 : « Taux de décroché » (BAS)" in lines
    assert "  IND-102 va 12,5 : « Délai moyen de délivrance » (BAS)" in lines
    assert "  IND-104 va 85 : « Satisfaction des usagers » (Tous services)" in lines
    assert sum(line.startswith("Attention : ") for line in lines) == 6
    assert schema_errors((workspace / OUTPUT).read_text(encoding="utf-8")) == []


def test_the_command_takes_month_and_output(workspace: Path) -> None:
    target = workspace / "exports" / "septembre.csv"  # a new folder is made
    result = invoke(workspace, "--month", "2026-09", "-o", str(target))
    assert result.exit_code == 0, result.output
    assert "Export PILOTE pour septembre 2026 (zone D25) : 2 lignes écrites" in result.output
    assert [r["date_valeur"] for r in records(target.read_text(encoding="utf-8"))] == [
        "2026-09-30",
        "2026-09-30",
    ]


@pytest.mark.parametrize("month", ["2026-13", "10/2026", "2026-1", "octobre"])
def test_a_bad_month_is_a_usage_error_in_french(workspace: Path, month: str) -> None:
    result = invoke(workspace, "--month", month)
    assert result.exit_code == 2
    assert f"mois attendu sous la forme AAAA-MM, « {month} » trouvé" in result.output
    assert not (workspace / OUTPUT).exists()


def test_a_future_month_is_refused_with_exit_code_2(workspace: Path) -> None:
    result = invoke(workspace, "--month", "2027-01")
    assert result.exit_code == 2
    assert "Erreur : le mois 2027-01 n'a pas commencé (date du jour : 26/11/2026)" in result.output


def test_without_pilote_section_the_command_exits_2_with_a_french_message(workspace: Path) -> None:
    (workspace / "qep-sync.toml").write_text(CONFIG, encoding="utf-8")
    result = invoke(workspace)
    assert result.exit_code == 2
    assert "Erreur : pilote : aucune section [pilote] dans la configuration" in result.output
    assert not (workspace / OUTPUT).exists()


def test_a_bad_pilote_section_stops_the_command_with_exit_code_2(workspace: Path) -> None:
    text = (CONFIG + PILOTE).replace('zone = "D25"', 'zone = "Doubs"')
    (workspace / "qep-sync.toml").write_text(text, encoding="utf-8")
    result = invoke(workspace)
    assert result.exit_code == 2
    assert "Erreur : pilote.zone : zone PILOTE invalide « Doubs »" in result.output


def test_an_unreadable_source_is_exit_code_1_and_the_rest_is_exported(workspace: Path) -> None:
    (workspace / "qualite" / "Indicateurs.xlsx").unlink()
    result = invoke(workspace)
    assert result.exit_code == 1, result.output
    assert "Erreur : Indicateurs.xlsx : fichier introuvable" in result.output
    rows = records((workspace / OUTPUT).read_text(encoding="utf-8"))
    assert [r["identifiant_indic"] for r in rows] == ["IND-101", "IND-102", "IND-103"]
    assert "« Satisfaction des usagers » (IND-104) : valeurs de plusieurs services" in result.output


def test_the_help_of_export_pilote_loads_no_data_library(workspace: Path) -> None:
    probe = ("import json, sys\nfrom qep_sync.cli import main\ntry:\n"
             "    main(['export', 'pilote', '--help'], prog_name='qep-sync')\n"
             "except SystemExit:\n    pass\n"
             "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         cwd=workspace, timeout=60)  # fmt: skip
    loaded = set(json.loads(out.stdout.strip().splitlines()[-1]))
    assert loaded & {"pandas", "pandera", "numpy", "lxml", "openpyxl", "python_calamine"} == set()
