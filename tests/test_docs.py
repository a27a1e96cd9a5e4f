"""The documentation in docs/ is the manual: it follows the command line, and stays in the repository.

docs/commandes.md lists exactly the commands of the CLI, with exactly the options of their
``--help``; the README keeps the two commands of a fresh machine; no file points outside the
repository; every relative link of the documentation leads to a file that exists.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from qep_sync.cli import main

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
COMMANDES = (DOCS / "commandes.md").read_text(encoding="utf-8")
README = (ROOT / "README.md").read_text(encoding="utf-8")

OPTION = re.compile(r"--[a-z][a-z0-9-]*")
TABLE_ROW = re.compile(r"^\| `qep-sync (\w+)", flags=re.MULTILINE)
SECTION = re.compile(r"^### `qep-sync (\w+)`", flags=re.MULTILINE)
HEADING = re.compile(r"^#{1,3} ", flags=re.MULTILINE)
LINK = re.compile(r"\]\(([^)\s]+)\)")

# Built in pieces so that this file does not match itself.
OUTSIDE = ("../" + "shared", "/work/" + "shared", "DESIGN" + ".md")
OLD_CONTRACT = re.compile("DESIGN" + r" §")


def _commands(name: str) -> list[tuple[list[str], click.Command]]:
    """A command and, for a group (``specs``), each of its subcommands, with their words."""
    command = main.commands[name]
    found = [([name], command)]
    if isinstance(command, click.Group):
        found += [([name, sub], c) for sub, c in command.commands.items()]
    return found


def _options(name: str) -> set[str]:
    """The long options of a command (and of its subcommands), as their parameters declare
    them; hidden ones (the refused ``serve --today``) and --help aside."""
    return {
        o
        for _, command in _commands(name)
        for p in command.params
        if not getattr(p, "hidden", False)
        for o in p.opts
        if o.startswith("--")
    } - {"--help"}


def _help(name: str) -> str:
    """The ``--help`` of a command, and of each of its subcommands."""
    runner = CliRunner()
    outputs = []
    for words, _ in _commands(name):
        result = runner.invoke(main, [*words, "--help"])
        assert result.exit_code == 0, result.output
        outputs.append(result.output)
    return "\n".join(outputs)


def _sections() -> dict[str, str]:
    """The text of each « ### `qep-sync NAME` » section of docs/commandes.md, by command."""
    sections: dict[str, str] = {}
    for match in SECTION.finditer(COMMANDES):
        rest = COMMANDES[match.end() :]
        end = HEADING.search(rest)
        sections[match.group(1)] = rest[: end.start()] if end else rest
    return sections


def _doc_files() -> list[Path]:
    return [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]


def _repository_files() -> list[Path]:
    """Tracked and untracked (not ignored) files of the work tree, or a walk without git."""
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        ).stdout
        names = {n for n in out.decode("utf-8").split("\0") if n}
        return [ROOT / n for n in sorted(names) if (ROOT / n).is_file()]
    except (OSError, subprocess.CalledProcessError):
        skip = {".git", ".venv", "demo", ".pytest_cache", ".mypy_cache", ".ruff_cache"}
        return [
            p
            for p in ROOT.rglob("*")
            if p.is_file() and not skip.intersection(p.relative_to(ROOT).parts)
        ]


def _slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"^```.*?^```", "", text, flags=re.MULTILINE | re.DOTALL)
    return {_slug(m) for m in re.findall(r"^#{1,6} (.+)$", text, flags=re.MULTILINE)}


def test_the_command_table_lists_exactly_the_commands_of_the_cli() -> None:
    assert set(TABLE_ROW.findall(COMMANDES)) == set(main.commands)


def test_every_option_the_command_table_names_exists_in_the_help_of_its_command() -> None:
    for line in COMMANDES.splitlines():
        row = TABLE_ROW.match(line)
        if row is None:
            continue
        name = row.group(1)
        help_text = _help(name)
        for option in OPTION.findall(line):
            assert option in help_text, f"{name} : {option} absent de --help"


def test_every_command_has_its_section() -> None:
    assert set(_sections()) == set(main.commands)


@pytest.mark.parametrize("name", sorted(main.commands))
def test_the_section_of_a_command_names_exactly_the_options_of_its_help(name: str) -> None:
    output = _help(name)
    declared = _options(name)
    for option in declared:
        assert option in output, f"{name} : {option} absent de --help"
    named = set(OPTION.findall(_sections()[name]))
    assert declared - named == set(), f"{name} : options absentes de docs/commandes.md"
    unknown = {o for o in named - declared if o not in output}
    assert unknown == set(), f"{name} : options inconnues de --help"


def test_the_two_commands_of_a_fresh_machine_are_in_the_readme() -> None:
    assert "make demo" in README
    assert "make test" in README


def test_no_file_of_the_repository_points_outside_it() -> None:
    me = Path(__file__).resolve()
    offenders = []
    for path in _repository_files():
        if path.resolve() == me:
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        found = [needle for needle in OUTSIDE if needle in text]
        found += OLD_CONTRACT.findall(text)[:1]
        if found:
            offenders.append(f"{path.relative_to(ROOT)} ({', '.join(found)})")
    assert offenders == [], "citent des fichiers hors du dépôt : " + " ; ".join(offenders)


@pytest.mark.parametrize("doc", _doc_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_leads_to_a_file_that_exists(doc: Path) -> None:
    text = doc.read_text(encoding="utf-8")
    for target in LINK.findall(text):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
            continue  # https:, mailto:, or an anchor of the same page (checked below)
        file_part, _, anchor = target.partition("#")
        linked = (doc.parent / file_part).resolve()
        assert linked.exists(), f"{doc.name} : lien vers {target} : fichier absent"
        if anchor and linked.suffix == ".md":
            assert anchor in _anchors(linked), f"{doc.name} : lien vers {target} : ancre absente"


@pytest.mark.parametrize("doc", _doc_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_anchor_link_of_a_page_leads_to_one_of_its_headings(doc: Path) -> None:
    text = doc.read_text(encoding="utf-8")
    for anchor in re.findall(r"\]\(#([^)\s]+)\)", text):
        assert anchor in _anchors(doc), f"{doc.name} : ancre #{anchor} absente"
