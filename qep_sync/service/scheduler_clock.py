"""The one seam between ``serve`` and the ``schedule`` library: its clock.

**Time is injected.** The service takes a clock (aware datetimes in Europe/Paris) and a wait
function; a test passes a fake clock and a wait that moves it on, and a week goes by in
seconds. ``schedule`` reads the time with ``datetime.datetime.now()`` in its own module, so
while the loop calls into it (and only then, under a lock) ``schedule.datetime`` is a small
stand-in module whose ``datetime.now()`` asks our clock: schedule's own arithmetic (periods,
``.at()`` with a time zone, daylight-saving changes) is what runs, in production and in
tests alike, rather than a copy of it. That seam is the one place where this module reaches
into the library; schedule 1.2's ``Job`` uses nothing else of the clock.
"""

from __future__ import annotations

import datetime as dt
import threading
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import schedule as schedule_lib

from qep_sync.clock import PARIS, paris_now

Clock = Callable[[], dt.datetime]


class _ClockedDatetime(dt.datetime):
    """``datetime.datetime`` for schedule, whose ``now()`` is the service's clock."""

    clock: Clock = paris_now

    @classmethod
    def now(cls, tz: dt.tzinfo | None = None) -> dt.datetime:  # type: ignore[override]
        moment = _ClockedDatetime.clock()
        # schedule works in naive local time (it converts its .at() results with astimezone()).
        return moment.astimezone(tz) if tz is not None else moment.astimezone().replace(tzinfo=None)


_SHIM = types.SimpleNamespace(datetime=_ClockedDatetime, timedelta=dt.timedelta, time=dt.time)
_SHIM_LOCK = threading.RLock()


@contextmanager
def scheduler_clock(clock: Clock) -> Iterator[None]:
    """While the block runs, ``schedule`` reads the time from ``clock``."""
    with _SHIM_LOCK:
        saved_module, saved_clock = schedule_lib.datetime, _ClockedDatetime.clock
        schedule_lib.datetime = _SHIM  # type: ignore[assignment]
        _ClockedDatetime.clock = clock
        try:
            yield
        finally:
            schedule_lib.datetime = saved_module
            _ClockedDatetime.clock = saved_clock


def to_paris(naive_local: dt.datetime | None) -> dt.datetime | None:
    """A ``Job.next_run`` (naive, the machine's local time) as an aware Paris time."""
    return None if naive_local is None else naive_local.astimezone(PARIS)
