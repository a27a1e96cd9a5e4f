"""The README is the manual: its command table, the options it names and `--help` agree."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

from qep_sync.cli import main

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def _readme_commands() -> set[str]:
    section = README.split("## Commandes", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `qep-sync (\w+)", section, flags=re.MULTILINE))


def test_the_readme_lists_exactly_the_commands_of_the_cli() -> None:
    assert _readme_commands() == set(main.commands)


def test_every_option_the_readme_names_exists_in_the_help_of_its_command() -> None:
    runner = CliRunner()
    for name in main.commands:
        help_text = runner.invoke(main, [name, "--help"]).output
        for line in README.splitlines():
            if line.startswith(f"| `qep-sync {name}"):
                for option in re.findall(r"(--[a-z][a-z-]+)", line):
                    assert option in help_text, f"{name}: {option} absent de --help"


def test_the_two_commands_of_a_fresh_machine_are_in_the_readme() -> None:
    assert "make demo" in README
    assert "make test" in README
