"""Google Sheets benchmark: API calls per spreadsheet per sync, and wall time, on the local
Sheets-API-compatible server of the tests, against the naive way in the same run.

The workspace of bench/generate.py (smaller by default: the naive way makes one HTTP call per
computed cell) is loaded into the local server, one spreadsheet per service. Then, each on a
fresh copy of the spreadsheets:
- qep-sync sync, first run (adds the owned columns), and again with no change;
- the naive way: for every tab, ``get_all_values`` (one call), then ``update_cell`` for every
  cell the first sync writes (one call each), as a script written without care would.

Targets: ≤ 5 calls per spreadsheet per sync whatever the rows (read 2, Drive's modified time 1,
re-check 1, write 1), ≤ 3 for a sync with nothing to change, which makes no write call. Always
exits 0: a missed target is a result.

    .venv/bin/python bench/gsheets_bench.py --services 3 --letters 500
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import python_calamine
from generate import REFERENCE_DAY, generate

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from gsheet_helpers import client_for, make_service_account_key  # noqa: E402
from sheets_server import SheetsServer  # noqa: E402

from qep_sync.config import parse_config  # noqa: E402
from qep_sync.jobs.sync import plan_sheet, run_sync  # noqa: E402

KEY_ENV = "QEP_BENCH_GOOGLE_KEY"


def load_workspace(config_path: Path) -> dict[str, dict[str, list[list[Any]]]]:
    """Every service workbook's tabs as rows, keyed by a spreadsheet key."""
    import tomllib

    raw = tomllib.loads(config_path.read_text(encoding="utf-8"))
    books = {}
    for i, source in enumerate(raw["sources"]):
        book = python_calamine.CalamineWorkbook.from_path(str(config_path.parent / source["xlsx"]))
        tabs = {
            name: [[None if v == "" else v for v in row]
                   for row in book.get_sheet_by_name(name).to_python(skip_empty_area=False)]
            for name in book.sheet_names
        }  # fmt: skip
        books[f"1qepSyncBenchSpreadsheet{i:04d}xx"] = tabs
    return books


def host(server: SheetsServer, books: dict[str, dict[str, list[list[Any]]]]) -> None:
    for key, tabs in books.items():
        server.add_spreadsheet(key, key, tabs)


def config_for(server: SheetsServer, keys: list[str], folder: Path) -> Any:
    raw = {
        "sources": [{"service": f"S{i:02d}", "gsheet": k} for i, k in enumerate(keys, 1)],
        "google": {"credentials_env": KEY_ENV, "api_base": server.url},
    }
    return parse_config(raw, folder)


def api_calls(server: SheetsServer) -> int:
    return sum(n for kind, n in server.counts.items() if kind != "token")


def writes(server: SheetsServer) -> int:
    return sum(server.count(k) for k in ("batchUpdate", "valuesBatchUpdate", "valuesUpdate"))


def measure_qep(server: SheetsServer, config: Any, label: str) -> dict[str, Any]:
    server.reset_log()
    start = time.perf_counter()
    run = run_sync(config, REFERENCE_DAY)
    seconds = time.perf_counter() - start
    n = len(config.sources)
    return {
        "label": label,
        "seconds": seconds,
        "calls": api_calls(server),
        "per_sheet": api_calls(server) / n,
        "writes": writes(server),
        "cells": sum(w.cells for w in run.writes),
        "failed": [w.message for w in run.writes if w.status in ("failed", "not-read")],
    }


def measure_naive(server: SheetsServer, config: Any, key_path: Path) -> dict[str, Any]:
    """get_all_values per tab, update_cell per computed cell (cells from qep-sync's own plan)."""
    dry = run_sync(config, REFERENCE_DAY, dry_run=True)
    todo: dict[str, list[tuple[str, int, int, Any]]] = {}
    for source in dry.check.sources:
        cells = todo.setdefault(source.source.gsheet or "", [])
        for table in source.tables:
            patch = plan_sheet(table, table.computed)
            cells += [(patch.title, patch.header_row, c, t) for c, t in patch.headers.items()]
            cells += [(patch.title, r, c, v) for (r, c), v in patch.cells.items()]
    client = client_for(server, key_path)
    server.reset_log()
    start = time.perf_counter()
    count = 0
    for key, cells in todo.items():
        spreadsheet = client.open_by_key(key)
        sheets = {ws.title: ws for ws in spreadsheet.worksheets()}
        for ws in sheets.values():
            ws.get_all_values()
        for title, row, col, value in cells:
            ws = sheets[title]
            if col + 1 > ws.col_count:
                ws.add_cols(col + 1 - ws.col_count)
            shown = value.isoformat() if hasattr(value, "isoformat") else value
            ws.update_cell(row, col + 1, "" if shown is None else shown)
            count += 1
    seconds = time.perf_counter() - start
    return {
        "label": "naive: get_all_values + update_cell",
        "seconds": seconds,
        "calls": api_calls(server),
        "per_sheet": api_calls(server) / max(len(todo), 1),
        "writes": writes(server),
        "cells": count,
        "failed": [],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=3)
    parser.add_argument("--letters", type=int, default=500)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    out = Path(__file__).resolve().parent / "out" / f"gsheets-{args.services}x{args.letters}"
    config_path = generate(out, args.services, args.letters, args.seed)
    books = load_workspace(config_path)
    rows = sum(len(r) for tabs in books.values() for r in tabs.values())
    print(f"Google Sheets: {len(books)} spreadsheets, {rows:,} rows, on the local test server")
    results = []
    with tempfile.TemporaryDirectory() as tmp, SheetsServer() as server:
        key_path = Path(tmp) / "key.json"
        make_service_account_key(key_path, server=server)
        os.environ[KEY_ENV] = str(key_path)
        host(server, books)
        config = config_for(server, list(books), Path(tmp))
        results.append(measure_qep(server, config, "qep-sync sync, first run"))
        results.append(measure_qep(server, config, "qep-sync sync, again, no change"))
        host(server, books)  # fresh spreadsheets for the naive way
        results.append(measure_naive(server, config, key_path))
    naive = results[-1]
    print(f"\n{'measurement':<38} {'s':>7} {'calls':>7} {'calls/sheet':>11} {'writes':>7} "
          f"{'cells':>8} {'× naive s':>9}")  # fmt: skip
    for r in results:
        ratio = r["seconds"] / naive["seconds"] if naive["seconds"] else float("nan")
        print(f"{r['label']:<38} {r['seconds']:7.2f} {r['calls']:7,} {r['per_sheet']:11.1f} "
              f"{r['writes']:7,} {r['cells']:8,} {ratio:9.3f}")  # fmt: skip
        for message in r["failed"]:
            print(f"    failed: {message}")
    first, again = results[0], results[1]
    print("\nTargets")
    for ok, text in (
        (first["per_sheet"] <= 5, f"≤ 5 calls per spreadsheet, first sync: {first['per_sheet']:.1f}"),
        (again["per_sheet"] <= 3, f"≤ 3 calls per spreadsheet, no-change sync: {again['per_sheet']:.1f}"),
        (again["writes"] == 0, f"no-change sync makes no write call: {again['writes']}"),
    ):  # fmt: skip
        print(f"  {'PASS' if ok else 'FAIL'}  {text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
