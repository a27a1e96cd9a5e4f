"""qep-sync: reads, checks, completes and consolidates the Qual-e-pref trackers of a prefecture."""

import logging

__version__ = "0.1.0"

# The library's log records go where the service sends them (service/logs.py); at a
# terminal, with no logging set up, Python would print them, in English and with their
# tracebacks, beside the French report: a handler that drops them keeps them out.
logging.getLogger("qep_sync").addHandler(logging.NullHandler())
