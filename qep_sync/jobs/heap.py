"""A run's long-lived objects kept out of the cyclic garbage collector's walks.

A sync holds every source's tables to its end: millions of small objects (a value per
cell) that live as long as the run. Python's collector walks all of its oldest generation
again each time enough new objects have piled up, so that with 300 services the walks, not
the work, made a sync of ten times the data take more than ten times as long. Once a
source is read, what exists is frozen (``gc.freeze``: moved where the collector does not
look); cycles made later are still collected; at the end of the outermost run everything
is given back to the collector (``serve`` runs for months). And once a source is done,
the memory freed since the last one is given back to the system.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache

_depth = 0  # runs under way in this process (a sync's check is a run within a run)


@contextmanager
def long_lived_run() -> Iterator[None]:
    """The span of a run whose objects ``settle`` may freeze; nested runs share it."""
    global _depth
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1
        if _depth == 0:
            gc.unfreeze()


def settle() -> None:
    """What exists now lives to the end of the run: out of the collector's walks; the memory
    freed since the last source given back to the system (``_give_back``)."""
    if _depth:
        gc.freeze()
        _give_back()()


@cache
def _give_back() -> Callable[[], object]:
    """The C library's ``malloc_trim(0)`` (glibc), or a no-op where there is none.

    A source's rows are millions of small objects and a few large buffers (the sheet's
    XML, calamine's cells); once they are freed, glibc keeps most of their pages for later,
    mixed with what lives on. Given back after each source, memory stays near what lives
    (measured: a check of 30
    workbooks of 50,000 letters peaked at 229 MB, not 270)."""
    name = ctypes.util.find_library("c")
    trim = getattr(ctypes.CDLL(name), "malloc_trim", None) if name else None
    if trim is None:
        return lambda: None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return lambda: trim(0)
