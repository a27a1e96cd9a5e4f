"""Allows ``python -m qep_sync``."""

from qep_sync.cli import main

main()
