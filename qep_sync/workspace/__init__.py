"""New workspaces: ``create`` (``init``: the config and the tracker workbooks, from a
``plan``), the demo data (``demo_*``) and the ``demo`` run.
"""
