"""Hostile or broken input never crashes a run (docs/contract.md §7): a bounded fuzz test.

A few hundred mutants of a real tracker workbook — zip-level damage (flipped, cut or
repeated bytes, entries dropped) and XML-level damage (characters deleted or inserted,
tags unbalanced, references pushed past Excel's limits, encodings changed, rows swapped)
— each go through ``check`` then ``sync`` in a worker process whose memory is capped.
Each run either succeeds or gives one French error for that source; never a traceback, a
hang or a runaway process; and a file is left byte for byte as it was unless the sync wrote
it successfully, in which case it is a sound workbook.
"""

from __future__ import annotations

import json
import random
import re
import select
import subprocess
import sys
import zipfile
from collections import Counter
from pathlib import Path

import pytest
from conftest import TODAY
from fidelity_workbooks import build_small_workbook

SEED = 20261201
MUTANTS = 300
SECONDS_PER_MUTANT = 20.0  # a hang, far above any real run of this small file
MEMORY_LIMIT = 1_500_000_000  # bytes of address space for the worker: a runaway read fails

WORKER = r"""
import json, resource, sys, traceback
limit = int(sys.argv[2])
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
import datetime as dt
from pathlib import Path
from qep_sync.config import config_for_files
from qep_sync.jobs.sync import run_sync

today = dt.date.fromisoformat(sys.argv[1])
print("ready", flush=True)
for line in sys.stdin:
    path = Path(line.rstrip("\n"))
    try:
        run = run_sync(config_for_files([path]), today)
        (source,) = run.check.report.sources
        (write,) = run.writes
        out = {"error": source.error, "write": write.status, "message": write.message}
    except BaseException as exc:  # what the test is looking for: nothing may escape
        out = {"escaped": f"{type(exc).__name__}: {exc}", "trace": traceback.format_exc()}
    print(json.dumps(out), flush=True)
"""


class Worker:
    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", WORKER, TODAY.isoformat(), str(MEMORY_LIMIT)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self.ask_line(60) == "ready"

    def ask_line(self, seconds: float) -> str | None:
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], seconds)
        return self.proc.stdout.readline().strip() if ready else None

    def run(self, path: Path) -> dict[str, str | None] | None:
        """The outcome of one mutant, or None when the worker hung (it is then killed)."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"{path}\n")
        self.proc.stdin.flush()
        line = self.ask_line(SECONDS_PER_MUTANT)
        if not line:
            return None
        return dict(json.loads(line))

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.kill()
        self.proc.wait(timeout=10)


# ---------------------------------------------------------------- mutations


def _entries(data: bytes) -> dict[str, bytes]:
    import io

    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {i.filename: zf.read(i.filename) for i in zf.infolist()}


def _zipped(entries: dict[str, bytes]) -> bytes:
    import io

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buffer.getvalue()


XML_MUTATIONS = (
    "delete",
    "insert",
    "unbalance",
    "far_reference",
    "bad_reference",
    "encoding",
    "swap_rows",
    "huge_count",
    "bad_number",
    "deep",
)


def _xml_mutant(xml: bytes, how: str, rng: random.Random) -> bytes:
    text = xml
    if how == "delete" and len(text) > 10:
        i = rng.randrange(len(text) - 5)
        return text[:i] + text[i + rng.randint(1, 5) :]
    if how == "insert":
        i = rng.randrange(len(text))
        junk = rng.choice([b"<", b">", b"&", b'"', b"\x00", b"<x>", b"</c>", b"&#1;", b"\xff\xfe"])
        return text[:i] + junk + text[i:]
    if how == "unbalance":
        return text.replace(b"</row>", b"", 1)
    if how == "far_reference":
        ref = rng.choice([b"XFD1048576", b"AZ1048576", b"XFD1", b"A1048576"])
        return re.sub(rb'r="([A-Z]+)(\d+)"', b'r="' + ref + b'"', text, count=1)
    if how == "bad_reference":
        ref = rng.choice([b"XFD1048577", b"ZZZZZZ3", b"A0", b"1A", b""])
        return re.sub(rb'<c r="[A-Z]+\d+"', b'<c r="' + ref + b'"', text, count=1)
    if how == "encoding":
        name = rng.choice([b"klingon", b"UTF-16", b"latin-1", b"ascii"])
        return re.sub(rb'encoding="[^"]*"', b'encoding="' + name + b'"', text, count=1)
    if how == "swap_rows":
        rows = re.findall(rb"<row\b.*?</row>", text, flags=re.S)
        if len(rows) >= 3:
            a, b = rng.sample(range(len(rows)), 2)
            return (
                text.replace(rows[a], b"\x00A").replace(rows[b], rows[a]).replace(b"\x00A", rows[b])
            )
        return text
    if how == "huge_count":
        return re.sub(rb'(count|uniqueCount)="\d+"', rb'\1="2000000000"', text)
    if how == "bad_number":
        value = rng.choice([b"-1e15", b"-1e308", b"-Infinity", b"NaN", b"1e400", b"abc"])
        return re.sub(rb"<v>[^<]*</v>", b"<v>" + value + b"</v>", text, count=1)
    if how == "deep":
        return text.replace(b"<sheetData>", b"<sheetData>" + b"<x>" * 3000 + b"</x>" * 3000, 1)
    raise AssertionError(how)


def mutants(model: bytes, rng: random.Random) -> list[tuple[str, bytes]]:
    entries = _entries(model)
    xml_parts = [n for n in entries if n.endswith(".xml") or n.endswith(".rels")]
    out: list[tuple[str, bytes]] = []
    while len(out) < MUTANTS:
        kind = rng.random()
        if kind < 0.3:  # zip level: the bytes of the file itself
            data = bytearray(model)
            how = rng.choice(["flip", "cut", "repeat", "zero"])
            i = rng.randrange(len(data))
            if how == "flip":
                for _ in range(rng.randint(1, 4)):
                    j = rng.randrange(len(data))
                    data[j] ^= 1 << rng.randrange(8)
            elif how == "cut":
                del data[i:]
            elif how == "repeat":
                data[i:i] = data[i : i + rng.randint(1, 200)]
            else:
                data[i : i + 64] = bytes(min(64, len(data) - i))
            out.append((f"zip-{how}", bytes(data)))
        elif kind < 0.4:  # an entry dropped
            name = rng.choice(list(entries))
            out.append((f"drop-{name}", _zipped({k: v for k, v in entries.items() if k != name})))
        else:  # XML level, in one part
            name = rng.choice(xml_parts)
            how = rng.choice(XML_MUTATIONS)
            changed = dict(entries)
            changed[name] = _xml_mutant(entries[name], how, rng)
            out.append((f"{how}-{name}", _zipped(changed)))
    return out


# ---------------------------------------------------------------- the test

ENGLISH = re.compile(r"\b(error|missing|invalid|expected|unexpected|failed|not found)\b", re.I)


def _sound(path: Path) -> bool:
    with zipfile.ZipFile(path) as zf:
        return zf.testzip() is None


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_no_mutant_crashes_hangs_or_leaves_a_file_half_changed(tmp_path: Path) -> None:
    model_path = build_small_workbook(tmp_path / "modèle.xlsx", TODAY)
    model = model_path.read_bytes()
    rng = random.Random(SEED)
    folder = tmp_path / "mutants"
    folder.mkdir()
    outcomes: Counter[str] = Counter()
    defects: list[str] = []
    worker = Worker()
    try:
        for i, (how, data) in enumerate(mutants(model, rng)):
            path = folder / f"mutant-{i:03d}.xlsx"
            path.write_bytes(data)
            result = worker.run(path)
            if result is None:
                defects.append(f"{i} {how}: no answer in {SECONDS_PER_MUTANT:.0f} s (hang)")
                worker.close()
                worker = Worker()
                continue
            if "escaped" in result:
                defects.append(f"{i} {how}: {result['escaped']}")
                continue
            error, write = result["error"], result["write"]
            if write == "written":
                outcomes["synced"] += 1
                if not _sound(path):
                    defects.append(f"{i} {how}: written, but not a sound zip")
                continue
            if path.read_bytes() != data:
                defects.append(f"{i} {how}: file changed though the sync did not write it")
            message = error or result["message"] or ""
            outcomes["unchanged" if write == "unchanged" else "refused"] += 1
            if write != "unchanged" and not message:
                defects.append(f"{i} {how}: {write} without a message")
            if "Traceback" in message or ENGLISH.search(message):
                defects.append(f"{i} {how}: message not French: {message[:160]}")
    finally:
        worker.close()
    print(f"fuzz: {MUTANTS} mutants, {dict(outcomes)}")
    assert defects == [], "\n".join(defects[:30])
    assert outcomes["refused"] > 0 and outcomes["synced"] > 0  # both ends were reached
