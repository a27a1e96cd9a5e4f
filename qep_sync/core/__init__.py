"""The core: plain functions over plain data, no file and no network.

``contract`` (what a backend gives and takes) → ``specs`` (the trackers of ``schemas/``) →
``detect`` (which sheet is which tracker) → ``parsing`` + ``validate`` (typed values and
findings) → ``compute`` (the owned columns); ``findings`` and ``services`` are shared data.
"""
