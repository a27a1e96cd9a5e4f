"""The qep-sync benchmark (``make bench``): time and peak memory of each measurement, vs targets.

Generates (or reuses) a large workspace in bench/out/ (bench/generate.py), then runs every
measurement in a fresh subprocess, so that each one's peak memory is its own, ``--runs`` times
round-robin. Prints the median wall time, the peak RSS, ratios to the reference readers and
PASS/FAIL per target of issue 15, each with the figures it is made of. Always exits 0 when the
measurements ran: a missed target is a result.

``--scale`` also measures check and sync on two workspaces ten times as large (10 × the
services, then 10 × the letters of each), generated in bench/out/scale-<services>x<letters>/,
``--scale-runs`` times: time must grow at most linearly, memory sub-linearly. The start-up of
the command line (``qep-sync --help``, ``qep-sync status``) is timed from outside against a
bare ``python -c pass``, in the same run.

Adding a measurement: a function decorated with ``@measurement(name, label)`` that does its
imports and setup and returns the callable to time (which returns a dict of facts to show);
adding a target: an entry of ``TARGETS``.

    .venv/bin/python bench/run.py --scale               # what make bench runs (long)
    .venv/bin/python bench/run.py                       # 30 services x 5,000 letters, 3 runs
    .venv/bin/python bench/run.py --runs 1 --services 3 --letters 1000 --scale
    .venv/bin/python bench/run.py --runs 1 --services 3 --letters 1000 --only check
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import statistics
import subprocess
import sys
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from generate import REFERENCE_DAY, generate

BENCH = Path(__file__).resolve().parent
SCRIPT = Path(__file__).resolve()
OUT = BENCH / "out"
RESULT_MARK = "BENCH-RESULT "
CHILD_TIMEOUT = 3600  # seconds
SCALE = 10  # the scale workspaces: SCALE × the services, then SCALE × the letters
SCALE_MEASUREMENTS = ("check", "sync_first", "sync_again")
STARTUP_RUNS = 7  # runs of each start-up command, interleaved (median reported)

Work = Callable[[], dict[str, Any]]
Prepare = Callable[[Path], Work]


@dataclass(frozen=True)
class Measurement:
    """Something to time in a fresh process.

    ``prepare(config)`` imports and sets up (not timed); the callable it returns is timed.
    """

    name: str
    label: str
    prepare: Prepare


Register = Callable[[str, str], Callable[[Prepare], Prepare]]


def registrar(registry: dict[str, Measurement]) -> Register:
    """The ``@measurement(name, label)`` decorator of a benchmark script, filling ``registry``
    (in order: the order of the runs and of the table)."""

    def measurement(name: str, label: str) -> Callable[[Prepare], Prepare]:
        def register(prepare: Prepare) -> Prepare:
            registry[name] = Measurement(name, label, prepare)
            return prepare

        return register

    return measurement


MEASUREMENTS: dict[str, Measurement] = {}
measurement = registrar(MEASUREMENTS)


def workbook_paths(config: Path) -> list[Path]:
    """The source workbooks of a workspace config, read without importing qep_sync: each
    source's ``path``, or ``xlsx``, its older name."""
    raw = tomllib.loads(config.read_text(encoding="utf-8"))
    return [config.parent / (s["path"] if "path" in s else s["xlsx"]) for s in raw["sources"]]


# The measurements. Imports happen in `prepare` so that each child loads only what it measures.


@measurement("openpyxl_read", "openpyxl read_only read (floor)")
def openpyxl_read(config: Path) -> Work:
    import openpyxl

    paths = workbook_paths(config)

    def work() -> dict[str, Any]:
        cells = 0
        for path in paths:
            book = openpyxl.load_workbook(path, read_only=True, data_only=True)
            try:
                for sheet in book.worksheets:
                    for row in sheet.iter_rows(values_only=True):
                        cells += sum(1 for v in row if v is not None)
            finally:
                book.close()
        return {"workbooks": len(paths), "cells": cells}

    return work


@measurement("calamine_read", "python-calamine read (reference)")
def calamine_read(config: Path) -> Work:
    import python_calamine

    paths = workbook_paths(config)

    def work() -> dict[str, Any]:
        cells = 0
        for path in paths:
            book = python_calamine.CalamineWorkbook.from_path(str(path))
            try:
                for name in book.sheet_names:
                    for row in book.get_sheet_by_name(name).to_python():
                        cells += sum(1 for v in row if v != "")
            finally:
                book.close()
        return {"workbooks": len(paths), "cells": cells}

    return work


@measurement("xlsx_read", "qep-sync xlsx backend read")
def xlsx_read(config: Path) -> Work:
    """What check's reading alone costs (snapshot, zip and sheet scans, calamine, percent
    cells): the part of check the backend owns, beside the bare calamine read."""
    from qep_sync.backends.xlsx import read_workbook

    paths = workbook_paths(config)

    def work() -> dict[str, Any]:
        sheets = 0
        for path in paths:
            sheets += len(read_workbook(path).sheets)
        return {"workbooks": len(paths), "sheets": sheets}

    return work


@measurement("check", "qep-sync check (as the command)")
def check(config: Path) -> Work:
    return _check_work(config)


def _check_work(config: Path) -> Work:
    from qep_sync.config import load_config
    from qep_sync.jobs.check import run_check

    def work() -> dict[str, Any]:
        report = run_check(load_config(config), REFERENCE_DAY, tables=False).report
        return {
            "sources": len(report.sources),
            "failed": len(report.failed_sources),
            "rows": sum(sh.rows for s in report.sources for sh in s.sheets),
            "errors": report.errors,
            "warnings": report.warnings,
        }

    return work


def _fresh_copy(config: Path) -> Path:
    """A scratch copy of the workspace (sync writes into it), removed at exit; not timed."""
    import atexit
    import shutil
    import tempfile

    scratch = Path(tempfile.mkdtemp(prefix="qep-bench-"))
    atexit.register(shutil.rmtree, scratch, ignore_errors=True)
    shutil.copytree(config.parent, scratch / "ws")
    return scratch / "ws" / config.name


def _planned_cells(config: Path) -> dict[Path, list[tuple[str, int, int, Any]]]:
    """Per workbook, the owned cells the first sync sets: (sheet, row, col 0-based, value)."""
    from qep_sync.config import load_config
    from qep_sync.jobs.sync import plan_sheet, run_sync

    dry = run_sync(load_config(config), REFERENCE_DAY, dry_run=True)
    cells: dict[Path, list[tuple[str, int, int, Any]]] = {}
    for source in dry.check.sources:
        todo = cells.setdefault(source.source.path, [])
        for table in source.tables:
            patch = plan_sheet(table, table.computed)
            todo += [(patch.title, patch.header_row, c, t) for c, t in patch.headers.items()]
            todo += [(patch.title, r, c, v) for (r, c), v in patch.cells.items()]
    return cells


@measurement("naive_roundtrip", "naive openpyxl load + set + save")
def naive_roundtrip(config: Path) -> Work:
    import openpyxl

    copy = _fresh_copy(config)
    cells = _planned_cells(copy)

    def work() -> dict[str, Any]:
        written = 0
        for path, todo in cells.items():
            book = openpyxl.load_workbook(path)
            for sheet, row, col, value in todo:
                book[sheet].cell(row=row, column=col + 1, value=value)
                written += 1
            book.save(path)
        return {"files": len(cells), "cells": written}

    return work


def _sync_work(config: Path) -> Work:
    from qep_sync.config import load_config
    from qep_sync.jobs.sync import run_sync

    def work() -> dict[str, Any]:
        run = run_sync(load_config(config), REFERENCE_DAY)
        written = [w for w in run.writes if w.status == "written"]
        return {
            "files written": len(written),
            "cells": sum(w.cells for w in written),
            "consolidation": run.consolidated.status if run.consolidated else "none",
        }

    return work


@measurement("sync_first", "qep-sync sync, first run")
def sync_first(config: Path) -> Work:
    return _sync_work(_fresh_copy(config))


@measurement("check_synced", "qep-sync check of the synced files")
def check_synced(config: Path) -> Work:
    """check of the files a no-change sync reads: the workspace once synced (untimed), its
    workbooks carrying the owned columns, 60 % more XML than before the first sync."""
    copy = _fresh_copy(config)
    _sync_work(copy)()
    return _check_work(copy)


@measurement("sync_again", "qep-sync sync, again, no change")
def sync_again(config: Path) -> Work:
    copy = _fresh_copy(config)
    _sync_work(copy)()  # the first sync, not timed
    return _sync_work(copy)


# Running and reporting.


def peak_rss_mb() -> float:
    """This process's peak resident set size (ru_maxrss: KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def run_child(measurement: Measurement, config: Path) -> None:
    """In the subprocess: set up, time the work, print one result line for the parent."""
    work = measurement.prepare(config)
    base = peak_rss_mb()
    gc.collect()
    start, cpu_start = time.perf_counter(), time.process_time()
    info = work()
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    result = {
        "seconds": seconds,
        "cpu": cpu,
        "peak_mb": peak_rss_mb(),
        "base_mb": base,
        "info": info,
    }
    print(RESULT_MARK + json.dumps(result), flush=True)


@dataclass(frozen=True)
class Command:
    """A command line timed whole from outside: the wall time of its subprocess, the start-up
    a user waits for. ``exit_codes``: the exit codes that are answers, not failures."""

    name: str
    label: str
    argv: Callable[[Path], list[str]]
    exit_codes: tuple[int, ...] = (0,)


def _qep_sync() -> str:
    """The qep-sync command of this interpreter's environment (.venv/bin/qep-sync)."""
    return str(Path(sys.executable).parent / "qep-sync")


# The start-up commands, run with the benchmark workspace's config. status exits 1 there:
# « no successful sync in the journal », an answer (2 would be an invalid config).
COMMANDS: dict[str, Command] = {c.name: c for c in (
    Command("startup_python", "python -c pass (bare interpreter)",
            lambda config: [sys.executable, "-c", "pass"]),
    Command("startup_help", "qep-sync --help", lambda config: [_qep_sync(), "--help"]),
    Command("startup_status", "qep-sync status -c <bench config>",
            lambda config: [_qep_sync(), "status", "-c", str(config),
                            "--today", REFERENCE_DAY.isoformat()], (0, 1)),
)}  # fmt: skip


@dataclass
class Result:
    """Every run of one measurement (or start-up command: wall times only)."""

    measurement: Measurement | Command
    seconds: list[float] = field(default_factory=list)
    cpu_seconds: list[float] = field(default_factory=list)
    process_seconds: list[float] = field(default_factory=list)
    peak_mb: list[float] = field(default_factory=list)
    base_mb: list[float] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def ok(self) -> bool:
        return self.error is None and bool(self.seconds)

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.measurement.label,
            "median_s": self.median if self.ok else None,
            "runs_s": self.seconds,
            "cpu_s": self.cpu_seconds,
            "process_s": self.process_seconds,
            "peak_mb": max(self.peak_mb, default=None),
            "base_mb": max(self.base_mb, default=None),
            "info": self.info,
            "error": self.error,
        }


def _last_line(stderr: str, returncode: int) -> str:
    """What a failed subprocess said last: the error of its traceback, or its exit code."""
    return (stderr.strip().splitlines() or [f"exit code {returncode}"])[-1]


def measure(result: Result, config: Path, script: Path = SCRIPT) -> None:
    """One run of a measurement in a fresh Python process: ``script --child`` (the benchmark
    script whose registry holds the measurement)."""
    name = result.measurement.name
    command = [sys.executable, str(script), "--child", name, "--config", str(config)]
    start = time.perf_counter()
    try:
        proc = subprocess.run(
            command, capture_output=True, text=True, timeout=CHILD_TIMEOUT, check=False
        )
    except subprocess.TimeoutExpired:
        result.error = f"no result after {CHILD_TIMEOUT} s"
        return
    elapsed = time.perf_counter() - start
    lines = [line for line in proc.stdout.splitlines() if line.startswith(RESULT_MARK)]
    if proc.returncode != 0 or not lines:
        result.error = _last_line(proc.stderr, proc.returncode)
        return
    data = json.loads(lines[-1][len(RESULT_MARK) :])
    result.seconds.append(data["seconds"])
    result.cpu_seconds.append(data["cpu"])
    result.process_seconds.append(elapsed)
    result.peak_mb.append(data["peak_mb"])
    result.base_mb.append(data["base_mb"])
    result.info = data["info"]


def run_measurements(
    results: dict[str, Result], config: Path, runs: int, script: Path = SCRIPT
) -> None:
    """``runs`` rounds of every measurement of ``results``, printing each run's figures."""
    for run in range(1, runs + 1):
        for result in results.values():
            if result.error:
                continue
            measure(result, config, script)
            done = (
                f"{result.seconds[-1]:.2f} s, {result.peak_mb[-1]:.0f} MB"
                if not result.error
                else "FAILED"
            )
            print(f"  run {run}/{runs}  {result.measurement.name:<16} {done}", flush=True)


def time_command(command: Command, result: Result, config: Path) -> None:
    """One run of a start-up command, in the workspace's folder: its subprocess's wall time."""
    start = time.perf_counter()
    try:
        proc = subprocess.run(command.argv(config), stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True, cwd=config.parent,
                              timeout=CHILD_TIMEOUT, check=False)  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as error:
        result.error = str(error)
        return
    elapsed = time.perf_counter() - start
    if proc.returncode not in command.exit_codes:
        result.error = _last_line(proc.stderr, proc.returncode)
        return
    result.seconds.append(elapsed)
    result.process_seconds.append(elapsed)


def run_startup(results: dict[str, Result], config: Path) -> None:
    """``STARTUP_RUNS`` interleaved rounds of the start-up commands of ``results``."""
    for _ in range(STARTUP_RUNS):
        for name, result in results.items():
            if not result.error:
                time_command(COMMANDS[name], result, config)


@dataclass(frozen=True)
class Size:
    """The size of a generated workspace; ``scaled``: one of the scale workspaces, generated
    in its own folder and whose results are keyed ``name@<services>x<letters>``."""

    services: int
    letters: int
    scaled: bool = False

    def __str__(self) -> str:
        return f"{self.services} × {self.letters:,}"

    def key(self, name: str) -> str:
        """The key of measurement ``name`` on this workspace among all the results."""
        return f"{name}@{self.services}x{self.letters}" if self.scaled else name

    def folder(self, out: Path) -> Path:
        return out / f"scale-{self.services}x{self.letters}" if self.scaled else out

    def to_dict(self) -> dict[str, int]:
        return {"services": self.services, "letters": self.letters}


def scale_sizes(base: Size) -> list[Size]:
    """The scale workspaces: ``SCALE`` × the services, then ``SCALE`` × the letters of each."""
    return [
        Size(base.services * SCALE, base.letters, scaled=True),
        Size(base.services, base.letters * SCALE, scaled=True),
    ]


@dataclass(frozen=True)
class Target:
    """A goal over the results: ``value(results) <= limit``; ``figures`` says what it is made
    of (the medians a ratio divides), so that a verdict can be checked by eye."""

    label: str
    needs: tuple[str, ...]
    value: Callable[[dict[str, Result]], float]
    limit: float
    unit: str
    figures: Callable[[dict[str, Result]], str] = lambda r: ""


def ratio(label: str, limit: float, numerator: str, denominator: str) -> Target:
    """``numerator``'s median time over ``denominator``'s, both measured in this run; the
    ratio of their CPU times beside it, steadier when other work shares the machine."""

    def value(r: dict[str, Result]) -> float:
        return r[numerator].median / r[denominator].median

    def figures(r: dict[str, Result]) -> str:
        top, bottom = r[numerator], r[denominator]
        cpu = statistics.median(top.cpu_seconds) / statistics.median(bottom.cpu_seconds)
        return (f"{numerator} {top.median:.2f} s / {denominator} {bottom.median:.2f} s; "
                f"CPU time {cpu:.2f} ×")  # fmt: skip

    return Target(label, (numerator, denominator), value, limit, "×", figures)


def peak(label: str, limit: float, *names: str) -> Target:
    """The highest peak RSS of any run of ``names`` (the peak of imports and setup beside)."""

    def value(r: dict[str, Result]) -> float:
        return max(mb for name in names for mb in r[name].peak_mb)

    def figures(r: dict[str, Result]) -> str:
        return ", ".join(f"{n} {max(r[n].peak_mb):.0f} MB, {max(r[n].base_mb):.0f} after setup"
                         for n in names)  # fmt: skip

    return Target(label, names, value, limit, "MB", figures)


def peak_growth(label: str, limit: float, grown: str, base: str) -> Target:
    """The peak RSS of ``grown`` (a measurement on a larger workspace) over that of ``base``
    (the same on the base workspace); beside each, Δ: the memory of the timed work alone
    (peak minus the peak after imports and setup), which the peak's fixed part hides."""

    def value(r: dict[str, Result]) -> float:
        return max(r[grown].peak_mb) / max(r[base].peak_mb)

    def text(name: str, result: Result) -> str:
        top = max(result.peak_mb)
        return f"{name} {top:.0f} MB (Δ {top - max(result.base_mb):.0f})"

    def figures(r: dict[str, Result]) -> str:
        return f"{text(grown, r[grown])} / {text(base, r[base])}"

    return Target(label, (grown, base), value, limit, "×", figures)


def overhead(label: str, limit: float, command: str, bare: str) -> Target:
    """``command``'s median wall time minus ``bare``'s: the time it adds to an interpreter's."""

    def value(r: dict[str, Result]) -> float:
        return r[command].median - r[bare].median

    def figures(r: dict[str, Result]) -> str:
        return (f"{command} {r[command].median:.3f} s − {bare} {r[bare].median:.3f} s, "
                f"medians of {len(r[command].seconds)} and {len(r[bare].seconds)} runs")  # fmt: skip

    return Target(label, (command, bare), value, limit, "s", figures)


# Issue 15's targets, each against references measured in the same run.
TARGETS = [
    ratio("check ≤ 2.0 × the bare calamine read", 2.0, "check", "calamine_read"),
    ratio("first sync ≤ 0.25 × the naive openpyxl round trip", 0.25,
          "sync_first", "naive_roundtrip"),
    ratio("no-change sync ≤ 1.2 × check of the same (synced) files", 1.2,
          "sync_again", "check_synced"),
    Target("no-change sync writes 0 files", ("sync_again",),
           lambda r: r["sync_again"].info["files written"], 0, "files"),
    peak("check peak memory ≤ 150 MB", 150, "check"),
    peak("sync peak memory ≤ 200 MB", 200, "sync_first", "sync_again"),
]  # fmt: skip

# On SCALE × the data: time at most linear (SCALE + 1 ×, a margin for noise); memory
# sub-linear, as the whole process's peak RSS at most MEMORY_GROWTH × that of the base.
TIME_GROWTH = SCALE + 1.0
MEMORY_GROWTH = 2.0

STARTUP_TARGETS = [
    overhead("qep-sync --help ≤ 0.3 s over python -c pass", 0.3,
             "startup_help", "startup_python"),
    overhead("qep-sync status ≤ 0.3 s over python -c pass", 0.3,
             "startup_status", "startup_python"),
]  # fmt: skip


def scale_targets(base: Size, sizes: list[Size]) -> list[Target]:
    """Per scale workspace and measurement of ``SCALE_MEASUREMENTS``: its time and peak
    memory against the same measurement's on the base workspace."""
    targets = []
    for size in sizes:
        for name in SCALE_MEASUREMENTS:
            grown = size.key(name)
            targets += [
                ratio(f"{name} time at {size} ≤ {TIME_GROWTH:g} × at {base} "
                      f"({SCALE} × the data: linear)", TIME_GROWTH, grown, name),
                peak_growth(f"{name} peak memory at {size} ≤ {MEMORY_GROWTH:g} × at {base} "
                            f"({SCALE} × the data: sub-linear)", MEMORY_GROWTH, grown, name),
            ]  # fmt: skip
    return targets


REFERENCES = (
    ("openpyxl_read", "× openpyxl"),
    ("calamine_read", "× calamine"),
    ("check", "× check"),
    ("naive_roundtrip", "× naive"),
)


def _info_text(info: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v:,}" if isinstance(v, int) else f"{k} {v}" for k, v in info.items())


def print_table(results: dict[str, Result]) -> None:
    """The measurements of one workspace (the ratios are to its references), then their facts."""
    headers = ["measurement", "median s", "min–max s", "cpu s", "process s", "peak MB", "Δ MB",
               *(label for _, label in REFERENCES)]  # fmt: skip
    rows = []
    for r in results.values():
        if not r.ok:
            rows.append([r.measurement.label, "FAILED", r.error or "", *[""] * (len(headers) - 3)])
            continue
        ratios = []
        for ref, _ in REFERENCES:
            base = results.get(ref)
            ratios.append(f"{r.median / base.median:.2f}" if base and base.ok else "–")
        rows.append([
            r.measurement.label,
            f"{r.median:.2f}",
            f"{min(r.seconds):.2f}–{max(r.seconds):.2f}",
            f"{statistics.median(r.cpu_seconds):.2f}",
            f"{statistics.median(r.process_seconds):.2f}",
            f"{max(r.peak_mb):.0f}",
            f"{max(r.peak_mb) - max(r.base_mb):.0f}",
            *ratios,
        ])  # fmt: skip
    widths = [max(len(str(row[i])) for row in [headers, *rows]) for i in range(len(headers))]
    line = "  ".join(
        h.ljust(w) if i == 0 else h.rjust(w)
        for i, (h, w) in enumerate(zip(headers, widths, strict=True))
    )
    print(line)
    print("-" * len(line))
    for row in rows:
        print("  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w)
                        for i, (c, w) in enumerate(zip(row, widths, strict=True))))  # fmt: skip
    print()
    for r in results.values():
        if r.ok:
            print(f"  {r.measurement.name}: {_info_text(r.info)}")


def print_legend() -> None:
    print(
        "\n  median s: wall time of the timed work only (after imports); cpu s: its CPU time "
        "(median),\n  steadier than wall time on a busy machine; process s: the whole subprocess "
        "(interpreter, imports, work);\n  peak MB: ru_maxrss of that process; Δ MB: peak minus "
        "the peak reached by the imports and setup."
    )


def print_startup(results: dict[str, Result]) -> None:
    print(f"\nStart-up: wall time of each subprocess, median of {STARTUP_RUNS} interleaved runs")
    bare = results.get("startup_python")
    width = max(len(r.measurement.label) for r in results.values())
    for r in results.values():
        if not r.ok:
            print(f"  {r.measurement.label:<{width}}  FAILED: {r.error}")
            continue
        over = ""
        if bare is not None and bare.ok and r is not bare:
            over = f", {r.median - bare.median:+.3f} s over python -c pass"
        print(f"  {r.measurement.label:<{width}}  {r.median:.3f} s "
              f"(min–max {min(r.seconds):.3f}–{max(r.seconds):.3f}){over}")  # fmt: skip


def print_targets(results: dict[str, Result], targets: list[Target]) -> list[dict[str, Any]]:
    """PASS/FAIL of each target with its value and figures (FAIL too when a measurement it
    needs failed; SKIP when one was not asked for); the verdicts, for the JSON output."""
    verdicts = []
    for target in targets:
        missing = [name for name in target.needs if name not in results]
        if missing:
            print(f"  SKIP  {target.label} (not measured: {', '.join(missing)})")
            continue
        failed = [f"{n}: {results[n].error or 'no run'}" for n in target.needs
                  if not results[n].ok]  # fmt: skip
        value = None if failed else target.value(results)
        ok = value is not None and value <= target.limit
        figures = "; ".join(failed) if failed else target.figures(results)
        verdicts.append({"target": target.label, "value": value, "limit": target.limit,
                         "pass": ok, "figures": figures})  # fmt: skip
        shown = "measurement failed" if value is None else f"{value:.2f} {target.unit}"
        figures_shown = f" ({figures})" if figures else ""
        print(f"  {'PASS' if ok else 'FAIL'}  {target.label}: {shown}{figures_shown}")
    return verdicts


def load_note() -> str:
    """The machine's load: timings taken while other work runs are noisy."""
    cpus = os.cpu_count() or 1
    load = os.getloadavg()[0]
    busy = "  (busy machine: compare cpu s rather than wall times)" if load > 0.5 * cpus else ""
    return f"load average {load:.1f} on {cpus} CPU(s){busy}"


def workspace_summary(config: Path) -> str:
    paths = workbook_paths(config)
    size = sum(p.stat().st_size for p in paths)
    return f"{len(paths)} workbooks, {size / 1e6:.1f} MB on disk, in {config.parent}"


def prepare_workspace(size: Size, out: Path, seed: int) -> Path:
    """Generate (or reuse) the workspace of ``size``; return its config."""
    start = time.perf_counter()
    title = "Scale workspace" if size.scaled else "Workspace"
    print(f"{title}: {size.services} services × {size.letters:,} letters, seed {seed}",
          flush=True)  # fmt: skip
    config = generate(size.folder(out), size.services, size.letters, seed)
    print(f"  ready in {time.perf_counter() - start:.1f} s: {workspace_summary(config)}")
    return config


def parse_args(argv: list[str] | None) -> tuple[argparse.Namespace, list[str]]:
    """The options, and the measurements and start-up commands to run."""
    known = ", ".join([*MEASUREMENTS, *COMMANDS])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--runs", type=int, default=3, help="runs per measurement (median reported)"
    )
    parser.add_argument("--services", type=int, default=30, help="workbooks in the workspace")
    parser.add_argument("--letters", type=int, default=5000, help="rows of each « Délais » sheet")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--out", type=Path, default=OUT, help="workspace folder (default bench/out)"
    )
    parser.add_argument(
        "--scale",
        action="store_true",
        help=f"also measure {', '.join(SCALE_MEASUREMENTS)} on two workspaces {SCALE} × as "
        f"large ({SCALE} × the services, then {SCALE} × the letters): long at full size",
    )
    parser.add_argument(
        "--scale-runs", type=int, default=1, help="runs per measurement on each scale workspace"
    )
    parser.add_argument("--only", help="comma-separated measurements: " + known)
    parser.add_argument("--json", type=Path, help="also write the results to this JSON file")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--config", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.only.split(",")] if args.only else [*MEASUREMENTS, *COMMANDS]
    unknown = [n for n in names if n not in MEASUREMENTS and n not in COMMANDS]
    if unknown:
        parser.error(f"unknown measurement {', '.join(unknown)} (known: {known})")
    return args, names


def main(argv: list[str] | None = None) -> int:
    args, names = parse_args(argv)
    if args.child:
        run_child(MEASUREMENTS[args.child], args.config)
        return 0

    out = args.out.resolve()
    base = Size(args.services, args.letters)
    config = prepare_workspace(base, out, args.seed)
    print(
        f"  today pinned to {REFERENCE_DAY}; {args.runs} run(s) of each measurement, "
        "each in a fresh process"
    )
    print(f"  {load_note()}\n", flush=True)
    by_size = {base: {n: Result(MEASUREMENTS[n]) for n in names if n in MEASUREMENTS}}
    run_measurements(by_size[base], config, args.runs)

    scale_names = [n for n in SCALE_MEASUREMENTS if n in names]
    scaled = scale_sizes(base) if args.scale and scale_names else []
    for size in scaled:
        print()
        scale_config = prepare_workspace(size, out, args.seed)
        print(f"  {args.scale_runs} run(s) of each of {', '.join(scale_names)}", flush=True)
        by_size[size] = {n: Result(MEASUREMENTS[n]) for n in scale_names}
        run_measurements(by_size[size], scale_config, args.scale_runs)

    startup = {n: Result(COMMANDS[n]) for n in names if n in COMMANDS}
    if startup:
        print(f"\nStart-up: {STARTUP_RUNS} runs of each of {', '.join(startup)}", flush=True)
        run_startup(startup, config)
    print(f"\nAfter the runs: {load_note()}\n")
    for size, results in by_size.items():
        if size.scaled:
            print(f"\nScale workspace: {size.services} services × {size.letters:,} letters\n")
        print_table(results)
    print_legend()
    if startup:
        print_startup(startup)

    every = {size.key(n): r for size, results in by_size.items() for n, r in results.items()}
    every |= startup
    print("\nTargets")
    verdicts = print_targets(every, TARGETS)
    if scaled:
        verdicts += print_targets(every, scale_targets(base, scaled))
    else:
        print("  SKIP  scale targets (run with --scale)")
    verdicts += print_targets(every, STARTUP_TARGETS)
    if args.json:
        payload = {
            "workspace": {**base.to_dict(), "seed": args.seed},
            "today": REFERENCE_DAY.isoformat(),
            "runs": args.runs,
            "results": {name: r.to_dict() for name, r in by_size[base].items()},
            "scale": {
                "runs": args.scale_runs,
                "workspaces": [
                    {**size.to_dict(), "results": {n: r.to_dict() for n, r in results.items()}}
                    for size, results in by_size.items()
                    if size.scaled
                ],
            },
            "startup": {
                "runs": STARTUP_RUNS,
                "results": {name: r.to_dict() for name, r in startup.items()},
            },
            "targets": verdicts,
        }
        args.json.write_text(json.dumps(payload, indent=2, ensure_ascii=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
