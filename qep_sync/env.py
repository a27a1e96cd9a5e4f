"""The process environment: the one module that reads it.

The config only names variables (``smtp.password_env``, ``google.credentials_env``); their
values are looked up here, when needed, and never stored in the config or written to a log.
A caller may pass its own mapping instead of the process environment (tests, ``serve``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

Environment = Mapping[str, str]
CONFIG_VARIABLE = "QEP_SYNC_CONFIG"  # the config file, when -c is not given
SHEETS_API_VARIABLE = "QEP_SYNC_SHEETS_API"  # overrides google.api_base (test servers, proxies)


def variable(name: str, env: Environment | None = None) -> str | None:
    """The value of ``name``; None when it is unset or empty."""
    return (os.environ if env is None else env).get(name) or None
