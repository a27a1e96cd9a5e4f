"""Everything a person reads is French (docs/contract.md §6): click's own texts (help, version,
usage errors), TOML and JSON mistakes with their file, line and column, plurals (0 and 1 in
the singular), one word per severity, and guillemets without quotes inside them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import TODAY, make_workbook

from qep_sync.cli import main
from qep_sync.config import load_config
from qep_sync.core.findings import Severity
from qep_sync.core.specs import load_specs
from qep_sync.errors import ConfigError, SpecError
from qep_sync.resources import data_dir
from qep_sync.text import plural

# click's English, as it would show without the French catalog.
ENGLISH = re.compile(
    r"Show this|Show the|Usage:|Options:|Commands:|Error:|Try '|No such|Missing|Invalid value"
    r"|does not exist|is not one of|Got unexpected|requires an argument|default:|\bPATH\b"
    r"|\bTEXT\b|\bINTEGER\b|\bFILE\b|\bDIRECTORY\b|\bCOMMAND\b|\bARGS\b|\bWORKBOOKS\b|Aborted"
)


def _invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), prog_name="qep-sync")
    return result.exit_code, result.output


def _commands() -> list[list[str]]:
    found = []
    for name, command in main.commands.items():
        found.append([name])
        for sub in getattr(command, "commands", {}):
            found.append([name, sub])
    return found


@pytest.mark.parametrize("words", [[], *_commands()], ids=lambda w: " ".join(w) or "qep-sync")
def test_every_help_is_french(words: list[str]) -> None:
    code, out = _invoke(*words, "--help")
    assert code == 0
    assert out.startswith(f"Utilisation : qep-sync {' '.join(words)}".rstrip() + " ")
    assert "-h, --help" in out and "Afficher ce message et quitter." in out
    assert "Options :" in out
    assert ENGLISH.search(out) is None, ENGLISH.search(out)


def test_version_is_french() -> None:
    code, out = _invoke("--help")
    assert "--version" in out and "Afficher la version et quitter." in out
    code, out = _invoke("--version")
    assert code == 0 and out.startswith("qep-sync, version ")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["check", "--frobnicate"], "Erreur : option inconnue « --frobnicate »."),
        (["check", "--formt", "json"],
         "Erreur : option inconnue « --formt ». Vouliez-vous dire « --format » ?"),
        (["init"], "Erreur : argument manquant « DOSSIER »."),
        (["check", "--format", "xml"],
         "Erreur : valeur invalide pour « --format » : « xml » n'est pas l'une des valeurs "
         "possibles : « text », « json »."),
        (["check", "--today", "26/11/2026"],
         "Erreur : valeur invalide pour « --today » : date attendue sous la forme AAAA-MM-JJ, "
         "« 26/11/2026 » trouvé"),
        (["check", "--today"], "Erreur : l'option « --today » attend une valeur."),
        (["check", "absent.xlsx"],
         "Erreur : valeur invalide pour « [CLASSEUR]... » : Fichier introuvable : « absent.xlsx »."),
        (["status", "--runs", "0"], "0 n'est pas dans l'intervalle 1<=x<=1000."),
        (["frobnicate"], "Erreur : commande inconnue « frobnicate »."),
        (["specs"], "Utilisation : qep-sync specs [OPTIONS] COMMANDE [ARGUMENTS]..."),
        (["demo", "a", "b"], "Erreur : argument en trop (b)"),
    ],
)  # fmt: skip
def test_usage_errors_are_french_with_guillemets(args: list[str], expected: str) -> None:
    code, out = _invoke(*args)
    assert code == 2, out
    assert expected in out, out
    assert ENGLISH.search(out) is None, ENGLISH.search(out)
    assert re.search(r"«\s*'", out) is None  # never '…' inside « »


def test_a_usage_error_shows_the_french_usage_and_the_help_to_try() -> None:
    _, out = _invoke("check", "--frobnicate")
    assert out.splitlines()[:2] == [
        "Utilisation : qep-sync check [OPTIONS] [CLASSEUR]...",
        "Aide : qep-sync check --help",
    ]


def test_serve_help_has_no_today_and_serve_refuses_it_in_french(tmp_path: Path) -> None:
    _, out = _invoke("serve", "--help")
    assert "--today" not in out
    code, out = _invoke("serve", "--today", "2026-11-26")
    assert code == 2
    assert (
        "--today n'a pas de sens pour qep-sync serve : chaque passage prend la date du jour" in out
    )


# ---------------------------------------------------------------- TOML and JSON


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[rules]\nechance = \n", "à la ligne 2, colonne 11 : valeur manquante ou illisible"),
        ('[alerts]\nsender = "a\x01b@c.fr"\n', "à la ligne 2, colonne 12 : caractère invisible"),
        (
            "a = {b = 1}\na.c = 2\n",
            "à la ligne 2, colonne 8 : section ou clé déjà définie plus haut",
        ),
        ('[alerts]\nsender = "\\uZZZZ"\n', "à la ligne 2, colonne 13 : code \\u ou \\U mal écrit"),
    ],
)
def test_toml_mistakes_are_french_with_file_line_and_column(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "qep-sync.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value).startswith(f"qep-sync.toml : syntaxe TOML invalide {message}")
    assert "détail technique" not in str(caught.value)


def _schemas(tmp_path: Path) -> Path:
    folder = tmp_path / "schemas"
    folder.mkdir()
    for spec in data_dir("schemas").glob("*.json"):
        (folder / spec.name).write_bytes(spec.read_bytes())
    return folder


def test_a_trailing_comma_in_a_spec_file_is_told_in_french_at_its_place(tmp_path: Path) -> None:
    folder = _schemas(tmp_path)
    path = folder / "plan_actions.json"
    text = path.read_text(encoding="utf-8")
    at = text.index('"sheetTitles"')
    close = text.index("]", at)
    path.write_text(text[:close] + "," + text[close:], encoding="utf-8")  # ["Plan d'actions",]
    line = text[:close].count("\n") + 1
    column = close - text.rfind("\n", 0, close) + 1
    with pytest.raises(SpecError) as caught:
        load_specs(folder)
    assert str(caught.value) == (
        f"plan_actions.json : JSON invalide ligne {line}, colonne {column} : virgule en trop "
        "avant « ] » : retirez la virgule après le dernier élément"
    )


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (lambda t: t.replace('"name":', '"name"', 1), "deux-points « : » manquant"),
        (lambda t: t.replace('"name"', "'name'", 1), "nom de clé attendu, entre guillemets droits"),
        (lambda t: t.replace('",', '"', 1), "virgule manquante entre deux éléments"),
        (lambda t: t + "}", "texte en trop après la fin du fichier"),
        (lambda t: "", "valeur attendue"),
    ],
)
def test_other_json_mistakes_are_french_too(tmp_path: Path, edit, reason: str) -> None:
    folder = _schemas(tmp_path)
    path = folder / "documents.json"
    path.write_text(edit(path.read_text(encoding="utf-8")), encoding="utf-8")
    with pytest.raises(SpecError) as caught:
        load_specs(folder)
    assert re.match(r"documents\.json : JSON invalide ligne \d+, colonne \d+ : ", str(caught.value))
    assert reason in str(caught.value)
    assert "Expecting" not in str(caught.value) and "détail technique" not in str(caught.value)


# ---------------------------------------------------------------- plurals, severity, guillemets


@pytest.mark.parametrize(
    ("n", "expected"),
    [(0, "0 courriel envoyé"), (1, "1 courriel envoyé"), (2, "2 courriels envoyés"),
     (12345, "12\u202f345 courriels envoyés")],
)  # fmt: skip
def test_french_counts_0_and_1_in_the_singular(n: int, expected: str) -> None:
    assert plural(n, "courriel envoyé", "courriels envoyés") == expected


def test_counts_printed_by_the_commands_agree_in_number(tmp_path: Path) -> None:
    from alerts_support import make_alerts_workspace

    path = make_alerts_workspace(tmp_path, None)
    code, out = _invoke("alerts", "-c", str(path), "--today", "2026-11-28")  # a Saturday
    assert code == 0 and "0 courriel envoyé (dossier" in out
    exported = tmp_path / "journal.csv"
    result = CliRunner().invoke(main, ["journal", "-c", str(path), "-o", str(exported)])
    assert "1 passage exporté dans" in result.output
    code, out = _invoke("sync", "-c", str(path), "--today", TODAY.isoformat())
    assert "2 sources, 0 erreur, 0 point d'attention" in out, out
    code, out = _invoke("status", "-c", str(path))
    assert re.search(r"synchronisation cli +réussi .* \d+ cellules?\b", out), out
    assert "cellule(s)" not in out and "courriel(s)" not in out
    assert "0 courriel envoyé" in out  # the Saturday's alerts, as status lists them


def test_one_word_per_severity_in_terminal_workbook_and_emails(tmp_path: Path) -> None:
    book = tmp_path / "BAS.xlsx"
    make_workbook(book, {"Plan d'actions": [
        ["N° action", "Action", "Échéance", "État"],
        ["A1", "Afficher", TODAY, "Fait"],  # done without a date: a warning
    ]})  # fmt: skip
    code, out = _invoke("check", str(book), "--today", TODAY.isoformat())
    assert code == 0  # a warning is no error
    assert "1 point d'attention" in out and "attention État : action « Fait »" in out
    assert "avertissement" not in out.lower()
    _, out = _invoke("check", str(book), "--today", TODAY.isoformat(), "--format", "json")
    assert json.loads(out)["findings"][0]["severity"] == "warning"
    assert Severity.WARNING.label == "Attention" and Severity.ERROR.label == "Erreur"
    _invoke("sync", str(book), "--today", TODAY.isoformat())
    from openpyxl import load_workbook

    sheet = load_workbook(book)["Plan d'actions"]
    header = [c.value for c in sheet[1]]
    control = sheet.cell(row=2, column=header.index("Contrôle") + 1).value
    assert control.startswith("Attention — État : action « Fait »")


def test_a_config_value_of_the_wrong_type_is_quoted_without_inner_quotes(tmp_path: Path) -> None:
    path = tmp_path / "qep-sync.toml"
    path.write_text('[rules]\necheance_proche_jours = "15"\n[[sources]]\nservice = "BAS"\n'
                    'path = "BAS.xlsx"\n', encoding="utf-8")  # fmt: skip
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value) == (
        "rules.echeance_proche_jours : doit être un nombre entier, le texte « 15 » trouvé"
    )
