"""Display paths (docs/contract.md §4): ``workspace.display_root`` replaces the workspace folder in
every path shown to a person, and ``file_url`` is the link that opens it."""

from __future__ import annotations

from pathlib import Path

import pytest

from qep_sync.config import load_config
from qep_sync.errors import ConfigError
from qep_sync.places import file_url, shown

SOURCES = '\n[[sources]]\nservice = "BAS"\npath = "services/BAS.xlsx"\n'


def _config(folder: Path, root: str | None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    line = "" if root is None else f"display_root = '{root}'\n"
    path = folder / "qep-sync.toml"
    path.write_text(f"[workspace]\n{line}{SOURCES}", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("root", "book", "expected_shown", "expected_url"),
    [
        ("\\\\srv-pref\\qualite", "services/BAS.xlsx",
         "\\\\srv-pref\\qualite\\services\\BAS.xlsx", "file://srv-pref/qualite/services/BAS.xlsx"),
        ("\\\\srv-pref\\qualite\\", "qualite/Plan d'actions.xlsx",
         "\\\\srv-pref\\qualite\\qualite\\Plan d'actions.xlsx",
         "file://srv-pref/qualite/qualite/Plan%20d%27actions.xlsx"),
        ("S:\\Qualité", "qualite/Autoévaluation.xlsx", "S:\\Qualité\\qualite\\Autoévaluation.xlsx",
         "file:///S:/Qualit%C3%A9/qualite/Auto%C3%A9valuation.xlsx"),
        ("S:\\", "services/BAS.xlsx", "S:\\services\\BAS.xlsx", "file:///S:/services/BAS.xlsx"),
        ("/mnt/qualité", "services/BAS.xlsx", "/mnt/qualité/services/BAS.xlsx",
         "file:///mnt/qualit%C3%A9/services/BAS.xlsx"),
        ("//srv-pref/qualite", "services/BAS.xlsx", "//srv-pref/qualite/services/BAS.xlsx",
         "file://srv-pref/qualite/services/BAS.xlsx"),
    ],
)  # fmt: skip
def test_a_path_in_the_workspace_is_shown_from_the_display_root(
    tmp_path: Path, root: str, book: str, expected_shown: str, expected_url: str
) -> None:
    config = load_config(_config(tmp_path / "espace", root))
    assert shown(tmp_path / "espace" / book, config) == expected_shown
    assert file_url(tmp_path / "espace" / book, config) == expected_url


def test_the_workspace_folder_itself_is_the_root(tmp_path: Path) -> None:
    config = load_config(_config(tmp_path, "S:\\Qualité"))
    assert shown(tmp_path, config) == "S:\\Qualité"


def test_a_path_outside_the_workspace_or_without_a_root_is_shown_as_it_is(tmp_path: Path) -> None:
    config = load_config(_config(tmp_path / "espace", "S:\\Qualité"))
    elsewhere = tmp_path / "ailleurs" / "Réunion 2026.xlsx"
    assert shown(elsewhere, config) == str(elsewhere)
    assert file_url(elsewhere, config) == elsewhere.as_uri()  # file:///…/R%C3%A9union%202026.xlsx
    plain = load_config(_config(tmp_path / "sans", None))
    book = tmp_path / "sans" / "services" / "BAS.xlsx"
    assert plain.display_root is None
    assert shown(book, plain) == str(book) and file_url(book, plain) == book.as_uri()


def test_a_link_to_the_workspace_through_a_symbolic_link_is_still_mapped(tmp_path: Path) -> None:
    real = tmp_path / "reel"
    config_path = _config(real, "\\\\srv\\q")
    (tmp_path / "lien").symlink_to(real)
    config = load_config(tmp_path / "lien" / "qep-sync.toml")
    assert shown(real / "services" / "BAS.xlsx", config) == "\\\\srv\\q\\services\\BAS.xlsx"
    assert shown(tmp_path / "lien" / "services" / "BAS.xlsx", config).startswith("\\\\srv\\q\\")
    assert config_path.exists()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("''", "chemin vide"),
        ("'   '", "chemin vide"),
        ("'qualite'", "« qualite » n'est pas un chemin complet"),
        ("'S:Qualité'", "« S:Qualité » n'est pas un chemin complet"),
        ("'\\\\serveur'", "n'est pas un chemin complet"),
        ("3", "doit être un texte"),
    ],
)
def test_a_bad_display_root_is_a_config_error_naming_the_key(
    tmp_path: Path, value: str, message: str
) -> None:
    path = tmp_path / "qep-sync.toml"
    path.write_text(f"[workspace]\ndisplay_root = {value}\n{SOURCES}", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.key == "workspace.display_root"
    assert message in str(caught.value)
