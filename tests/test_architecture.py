"""The rules of docs/architecture.md that import-linter cannot see, checked on the code itself.

- ``--help``, ``status``, ``journal`` and loading a config import none of the data libraries
  (a fresh interpreter each time, so that nothing another test imported hides a slip);
- only the command line prints; only ``qep_sync/env.py`` reads the process environment.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import make_good_workbook

PACKAGE = Path(__file__).resolve().parents[1] / "qep_sync"
DATA_LIBRARIES = ("pandas", "pandera", "numpy", "lxml", "openpyxl", "python_calamine", "gspread")

# Runs the command line in this interpreter, then reports which data libraries it loaded.
PROBE = """
import json, sys
from qep_sync.cli import main
try:
    main(sys.argv[1:], prog_name="qep-sync")
except SystemExit:
    pass
loaded = sorted({m.split(".")[0] for m in sys.modules} & set(json.loads(sys.stdin.readline())))
print("LOADED=" + json.dumps(loaded))
"""


def _loaded_by(*args: str, cwd: Path) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        input=json.dumps(DATA_LIBRARIES) + "\n",
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=60,
    )
    marker = [line for line in result.stdout.splitlines() if line.startswith("LOADED=")]
    assert marker, result.stdout + result.stderr
    return list(json.loads(marker[-1].removeprefix("LOADED=")))


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    make_good_workbook(tmp_path / "BAS.xlsx")
    (tmp_path / "qep-sync.toml").write_text(
        '[[sources]]\nservice = "BAS"\nxlsx = "BAS.xlsx"\n', encoding="utf-8"
    )
    return tmp_path


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["check", "--help"],
        ["sync", "--help"],
        ["status"],
        ["status", "--format", "json"],
        ["journal", "--format", "json"],
    ],
    ids=" ".join,
)
def test_quick_commands_load_no_data_library(args: list[str], workspace: Path) -> None:
    assert _loaded_by(*args, cwd=workspace) == []


def test_the_probe_sees_a_data_library_when_a_command_loads_one(workspace: Path) -> None:
    # check reads workbooks: the probe must report what it loaded, or the test above proves nothing.
    assert "pandas" in _loaded_by("check", cwd=workspace)


def test_loading_a_config_loads_no_data_library(workspace: Path) -> None:
    code = (
        "import sys; from pathlib import Path; from qep_sync.config import load_config; "
        "load_config(Path('qep-sync.toml')); "
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & {set(DATA_LIBRARIES)!r}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=workspace, timeout=60
    )
    assert out.stdout.strip() == "[]", out.stderr


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _calls(tree: ast.AST) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            found.append((node.lineno, node.func.id))
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            found.append((node.lineno, f"{node.value.id}.{node.attr}"))
    return found


def test_only_the_command_line_prints() -> None:
    printing = {"print", "sys.stdout", "sys.stderr"}
    offenders = [
        f"{path.relative_to(PACKAGE.parent)}:{line} {name}"
        for path in _modules()
        if "cli" not in path.relative_to(PACKAGE).parts
        for line, name in _calls(ast.parse(path.read_text(encoding="utf-8")))
        if name in printing
    ]
    assert offenders == []


def test_only_the_env_module_reads_the_environment() -> None:
    reading = {"os.environ", "os.getenv", "os.environb", "os.putenv"}
    offenders = [
        f"{path.relative_to(PACKAGE.parent)}:{line} {name}"
        for path in _modules()
        if path != PACKAGE / "env.py"
        for line, name in _calls(ast.parse(path.read_text(encoding="utf-8")))
        if name in reading
    ]
    offenders += [
        f"{path.relative_to(PACKAGE.parent)}: from os import environ"
        for path in _modules()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.ImportFrom)
        and node.module == "os"
        and any(a.name in ("environ", "getenv") for a in node.names)
    ]
    assert offenders == []


def test_the_architecture_page_lists_every_module() -> None:
    page = (PACKAGE.parent / "docs" / "architecture.md").read_text(encoding="utf-8")
    tree = page.split("## The tree", 1)[1]
    listed: set[str] = set()
    folder = ""
    for line in tree.splitlines():
        name = line.strip().split(" ", 1)[0]
        if name.endswith("/") and name != "qep_sync/":
            folder = name
        elif name.endswith(".py"):
            listed.add(folder + name if line.startswith("    ") else name)
    modules = {
        str(p.relative_to(PACKAGE))
        for p in _modules()
        if not _only_a_docstring(p)  # a package's __init__ that only describes it
    }
    assert modules - listed == set(), "modules missing from docs/architecture.md"
    assert listed - modules == set(), "docs/architecture.md lists modules that do not exist"


def _only_a_docstring(path: Path) -> bool:
    body = ast.parse(path.read_text(encoding="utf-8")).body
    return len(body) == 1 and isinstance(body[0], ast.Expr) and path.name == "__init__.py"
