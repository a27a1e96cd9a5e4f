"""Hostile or broken .ods input never crashes a run (docs/contract.md §7): the bounded fuzz
test of ``test_fuzz`` on a LibreOffice file's layout.

Mutants of a small .ods tracker — zip-level damage (flipped, cut or repeated bytes, entries
dropped) and XML-level damage of its parts (characters deleted or inserted, rows unbalanced,
repeat counts made enormous, values pushed past the grid, values that do not parse,
encodings changed, absurd nesting) — each go through ``check`` then ``sync`` in a worker
process whose memory is capped, content.xml read one of its two ways (parsed whole, as
usual, or streamed, as large parts are) by turns. Each run succeeds or gives one French error for that source;
never a traceback or a hang; a file is left byte for byte as it was unless the sync wrote it,
and then it is a sound zip whose every sheet reads back.
"""

from __future__ import annotations

import datetime as dt
import random
import re
import subprocess
import sys
import zipfile
from collections import Counter
from pathlib import Path

import pytest
from conftest import TODAY
from test_fuzz import ENGLISH, MEMORY_LIMIT, WORKER, Worker, _entries, _zipped
from test_ods_backend import action, plan_ods

from qep_sync.backends.ods import read_ods

SEED = 20261202
MUTANTS = 200
XML_MUTATIONS = ("delete", "insert", "unbalance", "huge_repeat", "far_value", "bad_value",
                 "encoding", "deep", "swap_rows")  # fmt: skip


def _xml_mutant(xml: bytes, how: str, rng: random.Random) -> bytes:
    if how == "delete" and len(xml) > 10:
        i = rng.randrange(len(xml) - 5)
        return xml[:i] + xml[i + rng.randint(1, 5) :]
    if how == "insert":
        i = rng.randrange(len(xml))
        junk = rng.choice([b"<", b">", b"&", b'"', b"\x00", b"<x>", b"</table:table-cell>",
                           b"&#1;", b"\xff\xfe", b"<!DOCTYPE x>"])  # fmt: skip
        return xml[:i] + junk + xml[i:]
    if how == "unbalance":
        return xml.replace(b"</table:table-row>", b"", 1)
    if how == "huge_repeat":
        count = rng.choice([b"2000000000", b"1048577", b"16385", b"0", b"-3", b"x"])
        return re.sub(rb'(number-(?:rows|columns)-repeated)="\d+"', rb'\1="' + count + b'"', xml,
                      count=rng.randint(1, 3))  # fmt: skip
    if how == "far_value":
        far = rng.choice([b"16383", b"16384", b"100000"])
        return xml.replace(b"<table:table-cell office:value-type",
                           b'<table:table-cell table:number-columns-repeated="' + far
                           + b'"/><table:table-cell office:value-type', 1)  # fmt: skip
    if how == "bad_value":
        attr = rng.choice([b'office:date-value="', b'office:value="'])
        value = rng.choice([b"abc", b"-1e308", b"NaN", b"9999999-99-99", b"1e400", b""])
        return re.sub(re.escape(attr) + rb'[^"]*"', attr + value + b'"', xml, count=1)
    if how == "encoding":
        name = rng.choice([b"klingon", b"UTF-16", b"latin-1", b"ascii"])
        return re.sub(rb'encoding="[^"]*"', b'encoding="' + name + b'"', xml, count=1)
    if how == "deep":
        return xml.replace(b"<text:p>", b"<text:p>" + b"<text:span>" * 3000
                           + b"</text:span>" * 3000, 1)  # fmt: skip
    if how == "swap_rows":
        rows = re.findall(rb"<table:table-row\b.*?</table:table-row>", xml, flags=re.S)
        if len(rows) >= 3:
            a, b = rng.sample(range(len(rows)), 2)
            return (
                xml.replace(rows[a], b"\x00A").replace(rows[b], rows[a]).replace(b"\x00A", rows[b])
            )
        return xml
    raise AssertionError(how)


def mutants(model: bytes, rng: random.Random) -> list[tuple[str, bytes]]:
    entries = _entries(model)
    xml_parts = [n for n in entries if n.endswith(".xml")]
    out: list[tuple[str, bytes]] = []
    while len(out) < MUTANTS:
        kind = rng.random()
        if kind < 0.25:  # zip level: the bytes of the file itself
            data = bytearray(model)
            how = rng.choice(["flip", "cut", "repeat"])
            i = rng.randrange(len(data))
            if how == "flip":
                for _ in range(rng.randint(1, 4)):
                    data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
            elif how == "cut":
                del data[i:]
            else:
                data[i:i] = data[i : i + rng.randint(1, 200)]
            out.append((f"zip-{how}", bytes(data)))
        elif kind < 0.35:  # an entry dropped
            name = rng.choice(list(entries))
            out.append((f"drop-{name}", _zipped({k: v for k, v in entries.items() if k != name})))
        else:  # XML level, content.xml most often
            name = "content.xml" if rng.random() < 0.8 else rng.choice(xml_parts)
            how = rng.choice(XML_MUTATIONS)
            out.append(
                (f"{how}-{name}", _zipped({**entries, name: _xml_mutant(entries[name], how, rng)}))
            )
    return out


class _Worker(Worker):
    """test_fuzz's worker, reading content.xml one way: parsed whole (the usual) or streamed
    (the way of large parts), each mutant going to both."""

    def __init__(self, tree_bytes: int) -> None:
        script = WORKER.replace(
            "from pathlib import Path\n",
            "from pathlib import Path\nimport qep_sync.backends.odsscan as odsscan\n"
            f"odsscan.TREE_BYTES = {tree_bytes}\n",
        )
        assert script != WORKER
        self.proc = subprocess.Popen(
            [sys.executable, "-c", script, TODAY.isoformat(), str(MEMORY_LIMIT)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )  # fmt: skip
        assert self.ask_line(60) == "ready"

    def close(self) -> None:
        super().close()
        assert self.proc.stdout is not None
        self.proc.stdout.close()  # not left to the garbage collector (a warning at exit)


def _sound(path: Path) -> bool:
    with zipfile.ZipFile(path) as zf:
        if zf.testzip() is not None:
            return False
    read_ods(path)  # every sheet reads back
    return True


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_no_ods_mutant_crashes_hangs_or_leaves_a_file_half_changed(tmp_path: Path) -> None:
    model = plan_ods(tmp_path / "modèle.ods", action("A1", dt.date(2026, 12, 4), "En cours"),
                     action("A2", dt.date(2026, 12, 30), "Fait", repeated=2),
                     action("A3", "31/02/2026", "À faire")).read_bytes()  # fmt: skip
    rng = random.Random(SEED)
    folder = tmp_path / "mutants"
    folder.mkdir()
    outcomes: Counter[str] = Counter()
    defects: list[str] = []
    workers = {mode: _Worker(size) for mode, size in (("tree", 16 << 20), ("stream", 0))}
    try:
        for i, (how, data) in enumerate(mutants(model, rng)):
            mode = "stream" if i % 2 else "tree"
            path = folder / f"mutant-{i:03d}.ods"
            path.write_bytes(data)
            result = workers[mode].run(path)
            how = f"{how} ({mode})"
            if result is None:
                defects.append(f"{i} {how}: no answer (hang)")
                workers[mode].close()
                workers[mode] = _Worker(0 if mode == "stream" else 16 << 20)
                continue
            if "escaped" in result:
                defects.append(f"{i} {how}: {result['escaped']}")
                continue
            write = result["write"]
            if write == "written":
                outcomes["synced"] += 1
                if not _sound(path):
                    defects.append(f"{i} {how}: written, but not a sound .ods")
                continue
            if path.read_bytes() != data:
                defects.append(f"{i} {how}: file changed though the sync did not write it")
            message = result["error"] or result["message"] or ""
            outcomes["unchanged" if write == "unchanged" else "refused"] += 1
            if write != "unchanged" and not message:
                defects.append(f"{i} {how}: {write} without a message")
            if "Traceback" in message or ENGLISH.search(message):
                defects.append(f"{i} {how}: message not French: {message[:160]}")
    finally:
        for worker in workers.values():
            worker.close()
    print(f"fuzz .ods: {MUTANTS} mutants, {dict(outcomes)}")
    assert defects == [], "\n".join(defects[:30])
    assert outcomes["refused"] > 0 and outcomes["synced"] > 0
