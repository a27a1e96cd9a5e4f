"""The jobs: what a command or the service runs, over a config and the backends.

``check`` (read and validate every source) → ``sync`` (compute, write back, consolidate)
→ ``figures`` + ``consolidate`` (the quality lead's view as data, ``view``) →
``consolidated_workbook`` (that view laid out); ``outcome`` is how a run ended.
"""
