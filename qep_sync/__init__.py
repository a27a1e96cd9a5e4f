"""qep-sync: reads, checks, completes and consolidates the Qual-e-pref trackers of a prefecture."""

__version__ = "0.1.0"
