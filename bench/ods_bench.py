"""The .ods benchmark (``make bench``): the large workspace of bench/generate.py as LibreOffice
files, timed against the references the .ods targets are set on, in the same run.

The workspace is generated as .xlsx (bench/generate.py), then converted once by LibreOffice
(``soffice --headless --convert-to ods``: real LibreOffice files) into bench/out/ods/, reused
while the parameters and the generator are the same. Each measurement runs in a fresh
subprocess, ``--runs`` times round-robin (as bench/run.py, whose scaffolding and reporting
this reuses):

- ``calamine_read``: python-calamine reads every .ods (the bare read, reference of ``check``);
- ``check``: qep-sync check of the .ods workspace (``check_xlsx``: the same workspace as .xlsx,
  for comparison: validation costs the same whatever the file);
- ``naive_roundtrip``: odfpy loads each .ods, sets the cells the first sync sets (splitting
  the repeated empty cells they fall in), and saves it: what a load-and-save library does
  (``odfpy_load_save``: its load and save alone, the floor of any odfpy round trip);
- ``sync_first`` / ``sync_again``: qep-sync's first sync of a fresh copy, then a second one.

Targets: check ≤ 2 × the bare read; first sync ≤ 0.3 × the naive round trip; a second sync
writes nothing. Needs LibreOffice (soffice) for the conversion and odfpy (dev extra).

    .venv/bin/python bench/ods_bench.py                      # 30 services x 5,000 letters
    .venv/bin/python bench/ods_bench.py --services 5 --runs 1
"""

from __future__ import annotations

import argparse
import bisect
import datetime as dt
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from generate import REFERENCE_DAY, _fingerprint, generate
from run import (
    OUT,
    Measurement,
    Result,
    Work,
    _fresh_copy,
    _planned_cells,
    calamine_read,
    check,
    load_note,
    print_legend,
    print_table,
    registrar,
    run_child,
    run_measurements,
    sync_again,
    sync_first,
    workbook_paths,
)

MEASUREMENTS: dict[str, Measurement] = {}
measurement = registrar(MEASUREMENTS)
STAMP_NAME = ".bench-ods-workspace.json"


# ---------------------------------------------------------------- the .ods workspace


def ods_workspace(xlsx_config: Path, params: dict[str, Any]) -> Path:
    """The .xlsx workspace converted by LibreOffice into bench/out/ods (reused when the same)."""
    folder = xlsx_config.parent / "ods"
    config, stamp = folder / "qep-sync.toml", folder / STAMP_NAME
    try:
        if json.loads(stamp.read_text(encoding="utf-8")) == params and config.is_file():
            return config
    except (OSError, ValueError):
        pass
    shutil.rmtree(folder, ignore_errors=True)
    (folder / "services").mkdir(parents=True)
    sources = sorted((xlsx_config.parent / "services").glob("*.xlsx"))
    soffice = shutil.which("soffice")
    if soffice is None:
        sys.exit("LibreOffice (soffice) is needed to make the .ods workspace")
    profile = Path(tempfile.mkdtemp(prefix="qep-bench-soffice-"))
    try:
        subprocess.run([soffice, f"-env:UserInstallation={profile.as_uri()}", "--headless",
                        "--convert-to", "ods", "--outdir", str(folder / "services"),
                        *map(str, sources)], check=True, capture_output=True, timeout=3600)  # fmt: skip
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    text = xlsx_config.read_text(encoding="utf-8")
    config.write_text(text.replace('xlsx = "services/', 'path = "services/').replace(
        '.xlsx"', '.ods"'), encoding="utf-8")  # fmt: skip
    stamp.write_text(json.dumps(params), encoding="utf-8")
    return config


# ---------------------------------------------------------------- the measurements
# bench/run.py's, on the .ods workspace, and those of odfpy. In the order of the runs.

measurement("calamine_read", "python-calamine read of the .ods (reference)")(calamine_read)
measurement("check", "qep-sync check of the .ods")(check)


@measurement("check_xlsx", "qep-sync check of the same as .xlsx")
def check_xlsx(config: Path) -> Work:
    return check(config.parent.parent / config.name)


@measurement("naive_roundtrip", "naive odfpy load + set + save")
def naive_roundtrip(config: Path) -> Work:
    from odf.opendocument import load
    from odf.table import Table

    copy = _fresh_copy(config)
    cells = _planned_cells(copy)

    def work() -> dict[str, Any]:
        written = 0
        for path, todo in cells.items():
            doc = load(str(path))
            rows = {t.getAttribute("name"): _row_index(t)
                    for t in doc.spreadsheet.getElementsByType(Table)}  # fmt: skip
            for sheet, row, col, value in todo:
                _odfpy_set(rows[sheet], row, col, value)
                written += 1
            doc.save(str(path))
        return {"files": len(cells), "cells": written}

    return work


def _row_index(table: Any) -> list[tuple[int, Any]]:
    """(last row it covers, element) of each row of a table: found once, not per cell."""
    from odf.table import TableRow

    index, last = [], 0
    for element in table.getElementsByType(TableRow):
        last += int(element.getAttribute("numberrowsrepeated") or 1)
        index.append((last, element))
    return index


def _odfpy_set(rows: list[tuple[int, Any]], row: int, col: int, value: Any) -> None:
    """Set one cell as careful odfpy code would: find its row, take the cell out of the run
    of cells it falls in (giving it the run's first cell when it starts it: odfpy removes an
    element in time proportional to the document), then its value."""
    from odf.table import TableCell
    from odf.text import P

    element = rows[bisect.bisect_left(rows, row, key=lambda item: item[0])][1]
    start = 0
    for cell in list(element.childNodes):
        count = int(cell.getAttribute("numbercolumnsrepeated") or 1)
        if start + count > col:
            break
        start += count
    else:
        raise AssertionError(f"column {col} not found")
    before, after = col - start, count - (col - start) - 1
    following = cell.nextSibling
    if before:
        cell.setAttribute("numbercolumnsrepeated", str(before))
        target = TableCell()
        _insert(element, target, following)
    else:
        target = cell
        if count > 1:
            target.removeAttribute("numbercolumnsrepeated")
        for child in list(target.childNodes):
            target.removeChild(child)
    if after:
        _insert(element, TableCell(numbercolumnsrepeated=str(after)), following)
    if value is None:
        return
    if isinstance(value, dt.date):
        target.setAttribute("valuetype", "date")
        target.setAttribute("datevalue", value.isoformat())
        text = value.strftime("%d/%m/%Y")
    elif isinstance(value, int | float) and not isinstance(value, bool):
        target.setAttribute("valuetype", "float")
        target.setAttribute("value", str(value))
        text = str(value)
    else:
        target.setAttribute("valuetype", "string")
        text = str(value)
    target.addElement(P(text=text))


def _insert(row: Any, cell: Any, following: Any) -> None:
    if following is None:
        row.addElement(cell)
    else:
        row.insertBefore(cell, following)


@measurement("odfpy_load_save", "odfpy load + save, no cell set")
def odfpy_load_save(config: Path) -> Work:
    """The floor of any odfpy round trip: what the naive one costs before it sets a cell."""
    from odf.opendocument import load

    paths = workbook_paths(_fresh_copy(config))

    def work() -> dict[str, Any]:
        for path in paths:
            load(str(path)).save(str(path))
        return {"files": len(paths)}

    return work


measurement("sync_first", "qep-sync sync of the .ods, first run")(sync_first)
measurement("sync_again", "qep-sync sync of the .ods, again, no change")(sync_again)


TARGETS = [
    ("check ≤ 2 × the bare calamine read", ("check", "calamine_read"),
     lambda r: r["check"].median / r["calamine_read"].median, 2.0, "×"),
    ("first sync ≤ 0.3 × the naive odfpy round trip", ("sync_first", "naive_roundtrip"),
     lambda r: r["sync_first"].median / r["naive_roundtrip"].median, 0.3, "×"),
    ("second sync writes 0 files", ("sync_again",),
     lambda r: r["sync_again"].info["files written"], 0, "files"),
]  # fmt: skip


# ---------------------------------------------------------------- running


def print_targets(results: dict[str, Result]) -> None:
    print("\nTargets (.ods)")
    for label, needs, value, limit, unit in TARGETS:
        if not all(n in results and results[n].ok for n in needs):
            print(f"  SKIP  {label} (needs {', '.join(needs)})")
            continue
        figure = value(results)
        print(f"  {'PASS' if figure <= limit else 'FAIL'}  {label}: {figure:.2f} {unit}")
    for label, a, b in (("check / check of the same .xlsx", "check", "check_xlsx"),
                        ("first sync / odfpy load + save alone", "sync_first", "odfpy_load_save")):  # fmt: skip
        if all(n in results and results[n].ok for n in (a, b)):
            print(f"  info  {label}: {results[a].median / results[b].median:.2f} ×")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--services", type=int, default=30)
    parser.add_argument("--letters", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--only", help="comma-separated measurements: " + ", ".join(MEASUREMENTS))
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--config", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        run_child(MEASUREMENTS[args.child], args.config)
        return 0
    names = list(MEASUREMENTS) if not args.only else [n.strip() for n in args.only.split(",")]
    unknown = [n for n in names if n not in MEASUREMENTS]
    if unknown:
        parser.error(f"unknown measurement {', '.join(unknown)} (known: {', '.join(MEASUREMENTS)})")
    start = time.perf_counter()
    print(
        f"Workspace (.ods): {args.services} services × {args.letters:,} letters, seed {args.seed}"
    )
    xlsx = generate(args.out.resolve(), args.services, args.letters, args.seed)
    params = {"services": args.services, "letters": args.letters, "seed": args.seed,
              "generator": _fingerprint()}  # fmt: skip
    config = ods_workspace(xlsx, params)
    size = sum(p.stat().st_size for p in workbook_paths(config))
    print(f"  ready in {time.perf_counter() - start:.1f} s: {len(workbook_paths(config))} .ods "
          f"files, {size / 1e6:.1f} MB, in {config.parent}")  # fmt: skip
    print(f"  today pinned to {REFERENCE_DAY}; {args.runs} run(s) of each, each in a fresh process")
    print(f"  {load_note()}\n", flush=True)
    results = {name: Result(MEASUREMENTS[name]) for name in names}
    run_measurements(results, config, args.runs, Path(__file__).resolve())
    print(f"\nAfter the runs: {load_note()}\n")
    print_table(results)
    print_legend()
    print_targets(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
