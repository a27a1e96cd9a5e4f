"""Backends: where trackers are read from and where owned cells are written back."""
