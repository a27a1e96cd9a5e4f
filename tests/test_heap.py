"""The memory a run frees between sources goes back to the system (``jobs.heap``)."""

from __future__ import annotations

import ctypes.util
import gc
import os
import subprocess
import sys
from pathlib import Path

import pytest

from qep_sync.jobs import heap


def _rss_mb() -> float:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


@pytest.mark.skipif(
    not Path("/proc/self/statm").exists() or ctypes.util.find_library("c") is None,
    reason="reads the resident size from Linux's /proc",
)
def test_settle_gives_back_what_the_last_source_freed() -> None:
    # 60 MB of blocks too big for Python's own allocator, under one that lives on: once
    # freed, the C library keeps their pages (nothing above them to trim from the top).
    blocks = [bytes(4000) for _ in range(15_000)]
    survivor = bytearray(4000)
    del blocks
    gc.collect()
    held = _rss_mb()
    with heap.long_lived_run():
        heap.settle()
    assert held - _rss_mb() > 30  # given back, not kept for later
    assert survivor  # it lives on through the trim


def test_settle_outside_a_run_does_nothing() -> None:
    frozen = gc.get_freeze_count()
    heap.settle()
    assert gc.get_freeze_count() == frozen


@pytest.mark.skipif(
    not Path("/proc/self/statm").exists() or ctypes.util.find_library("c") is None,
    reason="reads the resident size from Linux's /proc",
)
def test_a_run_returns_large_buffers_as_soon_as_they_are_freed() -> None:
    # In a fresh interpreter: a long test process's heap already holds free pages.
    code = """
import os
from pathlib import Path
from qep_sync.jobs import heap

def rss():
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

with heap.long_lived_run():
    del_me = b"x" * (20 << 20)  # glibc would then serve buffers up to 20 MB from its heap
    del del_me
    blocks = [b"x" * (2 << 20) for _ in range(30)]  # 60 MB: a sheet's XML, a part written
    survivor = bytearray(4000)
    held = rss()
    del blocks
    print(held - rss())  # no trim asked: each had a mapping of its own
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert float(out.stdout) > 40
