"""A second run, a killed run or a failure nobody foresaw never breaks the others
(docs/contract.md §6 and §7): one sync at a time per workspace, a temporary file of its
own for every write, and an unexpected failure stays that source's failure.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import TODAY, make_good_workbook

import qep_sync.jobs.check as check_job
import qep_sync.jobs.sync as sync_job
from qep_sync import files
from qep_sync.cli import main
from qep_sync.config import load_config
from qep_sync.errors import WriteBackError
from qep_sync.jobs.sync import run_sync, sync_lock


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    for code in ("BAS", "BRGE"):
        make_good_workbook(tmp_path / f"{code}.xlsx")
    (tmp_path / "qep-sync.toml").write_text(
        '[[sources]]\nservice = "BAS"\nxlsx = "BAS.xlsx"\n\n'
        '[[sources]]\nservice = "BRGE"\nxlsx = "BRGE.xlsx"\n',
        encoding="utf-8",
    )
    return tmp_path


def _bytes(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.xlsx"))}


# ---------------------------------------------------------------- one sync at a time


def test_a_second_sync_of_the_workspace_waits_then_says_who_holds_it(workspace: Path) -> None:
    config = load_config(workspace / "qep-sync.toml")
    before = _bytes(workspace)
    with sync_lock(config.state_dir, wait=0), pytest.raises(WriteBackError) as caught:
        run_sync(config, TODAY, lock_wait=0.2)
    message = str(caught.value)
    assert "une autre synchronisation de cet espace de travail est en cours" in message
    assert f"pid {os.getpid()}" in message  # who holds it
    assert _bytes(workspace) == before  # nothing written by the refused run
    # Released: the next sync runs and writes.
    run = run_sync(config, TODAY, lock_wait=0.2)
    assert {w.status for w in run.writes} == {"written"}


def test_the_command_line_reports_a_sync_already_running_in_french(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = load_config(workspace / "qep-sync.toml")
    cfg = str(workspace / "qep-sync.toml")
    monkeypatch.setattr(sync_job, "LOCK_WAIT", 0.1)  # the command waits 2 minutes otherwise
    with sync_lock(config.state_dir, wait=0):
        result = CliRunner().invoke(main, ["sync", "-c", cfg, "--today", str(TODAY)])
    assert result.exit_code == 1
    assert "une autre synchronisation" in result.output
    assert "Traceback" not in result.output


def test_a_dry_run_needs_no_lock(workspace: Path) -> None:
    config = load_config(workspace / "qep-sync.toml")
    with sync_lock(config.state_dir, wait=0):
        run = run_sync(config, TODAY, dry_run=True, lock_wait=0)
    assert {w.status for w in run.writes} == {"planned"}


# ---------------------------------------------------------------- temporary files


def test_two_writes_of_one_file_never_share_a_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "suivi.xlsx"
    target.write_bytes(b"old")
    seen: list[list[Path]] = []

    def inner(tmp: Path) -> None:
        seen.append(files.temporaries(target))  # the outer write's file, and this one
        tmp.write_bytes(b"inner")

    def outer(tmp: Path) -> None:
        tmp.write_bytes(b"outer")
        files.replace_atomically(target, inner)  # another run, in the middle of this one

    files.replace_atomically(target, outer)
    assert len(seen[0]) == 2 and len(set(seen[0])) == 2  # two files of their own
    assert target.read_bytes() == b"outer"  # the last to finish wins, whole
    assert files.temporaries(target) == []  # nothing left behind


def test_a_killed_runs_leftover_is_removed_by_the_next_write(tmp_path: Path) -> None:
    target = tmp_path / "suivi.xlsx"
    target.write_bytes(b"old")
    leftover = tmp_path / f".{target.name}.tue{files.TEMPORARY_SUFFIX}"
    leftover.write_bytes(b"PK\x03\x04 half")
    other = tmp_path / f".autre.xlsx.x{files.TEMPORARY_SUFFIX}"  # another file's: not ours
    other.write_bytes(b"x")
    files.replace_atomically(target, lambda tmp: tmp.write_bytes(b"new"))
    assert target.read_bytes() == b"new"
    assert not leftover.exists()
    assert other.exists()


def test_a_new_file_gets_ordinary_permissions_not_those_of_a_temporary_file(
    tmp_path: Path,
) -> None:
    target = tmp_path / "nouveau.txt"
    files.replace_atomically(target, lambda tmp: tmp.write_text("x"))
    mask = os.umask(0)
    os.umask(mask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~mask


# ---------------------------------------------------------------- a failure nobody foresaw


class _Panic(BaseException):
    """What a Rust library raises when it panics: not an Exception."""


@pytest.fixture
def bas_panics(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reading BAS.xlsx fails as a Rust library's panic would (a BaseException)."""
    original = check_job.validate_sheet

    def panics_on_bas(ts, label, *args, **kwargs):  # type: ignore[no-untyped-def]
        if label == "BAS.xlsx":
            raise _Panic("called `Option::unwrap()` on a `None` value")
        return original(ts, label, *args, **kwargs)

    monkeypatch.setattr(check_job, "validate_sheet", panics_on_bas)


@pytest.mark.usefixtures("bas_panics")
def test_an_unexpected_failure_in_one_source_is_that_sources_failure_only(
    workspace: Path,
) -> None:
    before = (workspace / "BAS.xlsx").read_bytes()
    run = run_sync(load_config(workspace / "qep-sync.toml"), TODAY, lock_wait=0)
    statuses = {w.source: w.status for w in run.writes}
    assert statuses == {"BAS.xlsx": "not-read", "BRGE.xlsx": "written"}
    (bas,) = [s for s in run.check.report.sources if s.source == "BAS.xlsx"]
    assert bas.error is not None and bas.error.startswith("erreur inattendue (_Panic)")
    assert "unwrap" not in bas.error  # the library's own text stays in the technical log
    assert (workspace / "BAS.xlsx").read_bytes() == before
    assert run.failed  # exit 1: a source could not be read


def test_an_interrupt_still_stops_the_run(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise KeyboardInterrupt

    monkeypatch.setattr(check_job, "validate_sheet", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_sync(load_config(workspace / "qep-sync.toml"), TODAY, lock_wait=0)


@pytest.mark.usefixtures("bas_panics")
def test_the_journal_closes_a_run_that_a_source_failure_did_not_stop(workspace: Path) -> None:
    cfg = str(workspace / "qep-sync.toml")
    result = CliRunner().invoke(main, ["sync", "-c", cfg, "--today", str(TODAY)])
    assert result.exit_code == 1
    journal = CliRunner().invoke(main, ["journal", "-c", cfg, "--format", "json"])
    assert '"status": "partial"' in journal.output  # closed, not left « en cours »


def test_the_terminal_shows_the_french_report_not_the_technical_log(workspace: Path) -> None:
    """With no logging set up (a command typed at a terminal), the library's own records —
    English, with a traceback — are not printed beside the report (a fresh process: pytest
    configures logging of its own)."""
    probe = (
        "import sys, conftest, qep_sync.jobs.check as c\n"
        "original = c.validate_sheet\n"
        "class Panic(BaseException): pass\n"
        "def panics(ts, label, *a, **k):\n"
        "    if label == 'BAS.xlsx': raise Panic('boom')\n"
        "    return original(ts, label, *a, **k)\n"
        "c.validate_sheet = panics\n"
        "from qep_sync.cli import main\n"
        "main(['sync', '-c', sys.argv[1], '--today', sys.argv[2]])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe, str(workspace / "qep-sync.toml"), str(TODAY)],
        capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent)},
    )  # fmt: skip
    assert result.returncode == 1
    assert "erreur inattendue (Panic)" in result.stdout
    assert "Traceback" not in result.stderr and "failed" not in result.stderr
