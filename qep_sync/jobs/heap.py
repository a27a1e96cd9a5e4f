"""A run's long-lived objects kept out of the cyclic garbage collector's walks.

A sync holds every source's tables to its end: millions of small objects (a value per
cell) that live as long as the run. Python's collector walks all of its oldest generation
again each time enough new objects have piled up, so that with 300 services the walks, not
the work, made a sync of ten times the data take more than ten times as long. Once a
source is read, what exists is frozen (``gc.freeze``: moved where the collector does not
look); cycles made later are still collected; at the end of the outermost run everything
is given back to the collector (``serve`` runs for months).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

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
    """What exists now lives to the end of the run: out of the collector's walks."""
    if _depth:
        gc.freeze()
