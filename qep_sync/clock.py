"""The one time zone of qep-sync (Europe/Paris) and the wall clock read in it.

Only the command line and the service's loop read the clock; everything below them is given
``today`` or ``now`` (an aware datetime) as an argument.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")


def paris_now() -> dt.datetime:
    """The current time in Paris, as an aware datetime."""
    return dt.datetime.now(PARIS)


def paris_today() -> dt.date:
    return paris_now().date()
