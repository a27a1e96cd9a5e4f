"""Parked tables: a check run with ``park=True`` sets each source's values aside, compressed,
as soon as it is read, and gives them back whole when the source is unparked.

The demo workspace is checked with and without parking on the pinned date; a central
workbook naming an unknown service and an action plan citing an engagement no
self-assessment lists make the checks across sources warn, on parked tables.
"""

from __future__ import annotations

import copy
import datetime as dt
import pickle
from pathlib import Path
from typing import Any

import pytest
from conftest import TODAY, make_workbook

from qep_sync.config import Config, load_config, parse_config
from qep_sync.core.validate import Table
from qep_sync.jobs.check import CROSS_CHECKED, CheckRun, run_check
from qep_sync.jobs.sync import plan_sheet
from qep_sync.workspace.create import create_workspace

D = dt.date
MODULE = "Module 1 : Relations générales avec les usagers"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Config:
    folder = tmp_path_factory.mktemp("demo")
    create_workspace(folder, demo=True, today=TODAY, force=False)
    return load_config(folder / "qep-sync.toml")


def tables_of(run: CheckRun) -> list[Table]:
    return [t for s in run.sources for t in s.tables]


def held(table: Table) -> tuple[Any, ...]:
    """What parking sets aside and gives back, with the columns' order."""
    return (list(table.columns), table.columns, table.measures, table.computed,
            table.invalid, table.sheet.kept)  # fmt: skip


def plan_of(run: CheckRun) -> Table:
    return next(t for t in tables_of(run) if t.tracker == "plan_actions" and "etat" in t.columns)


def test_a_parked_check_once_unparked_is_the_check_itself(demo: Config) -> None:
    whole, parked = run_check(demo, TODAY), run_check(demo, TODAY, park=True)
    assert not any(t.parked for t in tables_of(whole))
    assert all(t.parked for t in tables_of(parked))
    assert parked.report.to_dict() == whole.report.to_dict()
    assert parked.report.findings == whole.report.findings
    parked.unpark()
    assert len(tables_of(parked)) == len(tables_of(whole)) > 0
    assert any(t.measures for t in tables_of(whole)) and all(t.sheet.kept for t in tables_of(whole))
    for a, b in zip(tables_of(whole), tables_of(parked), strict=True):
        assert not b.parked
        assert held(b) == held(a)
        assert b.findings == a.findings


def test_a_parked_table_keeps_only_the_fields_read_across_sources(demo: Config) -> None:
    tables = tables_of(run_check(demo, TODAY, park=True))
    assert all(set(t.columns) <= CROSS_CHECKED for t in tables)
    assert all(not t.measures and not t.computed and t.sheet.kept is None for t in tables)
    assert any(t.columns for t in tables)  # some fields stay live: the cross-checks read them


def test_computed_values_come_back_with_the_rest(demo: Config) -> None:
    run = run_check(demo, TODAY)
    run.compute(TODAY, demo)
    tables = tables_of(run)
    before = copy.deepcopy([held(t) for t in tables])
    assert any(t.computed for t in tables)
    for t in tables:
        t.park(CROSS_CHECKED)
    assert not any(t.computed for t in tables)
    for t in tables:
        t.unpark()
    assert [held(t) for t in tables] == before


def test_reading_a_parked_field_fails_and_a_kept_field_reads_the_same(demo: Config) -> None:
    plan = plan_of(run_check(demo, TODAY))
    rows = list(plan.positions)
    kept = {name: plan.values(name) for name in ("engagement", "service_pilote")
            if name in plan.columns}  # fmt: skip
    assert "engagement" in kept
    absent = next(f.name for f in plan.sheet.spec.fields if f.name not in plan.columns)
    invalid = next(iter(plan.invalid), (rows[0], "etat"))
    assert len(plan.frame) == len(rows)  # made before parking: dropped by it
    plan.park(CROSS_CHECKED)
    assert plan.parked and "frame" not in plan.__dict__
    for read in (lambda: plan.values("etat"), lambda: plan.parsed(rows[0], "etat"),
                 lambda: plan.value(rows[0], "etat"), lambda: plan.value(*invalid),
                 lambda: plan.frame):  # fmt: skip
        with pytest.raises(RuntimeError, match="parked"):
            read()
    for name, values in kept.items():
        assert plan.values(name) == values
        assert [plan.value(row, name) for row in rows] == values
    assert plan.values(absent) == [None] * len(rows)  # not in the sheet: not parked
    assert plan.parsed(rows[0], absent) is None
    plan.unpark()
    assert plan.values("etat")[0] is not None


def test_parking_twice_or_unparking_twice_changes_nothing(demo: Config) -> None:
    run = run_check(demo, TODAY)
    tables = tables_of(run)
    before = copy.deepcopy([held(t) for t in tables])
    for t in tables:
        t.unpark()  # not parked: nothing to do
    assert [held(t) for t in tables] == before
    for source in run.sources:
        source.park()
    parked = copy.deepcopy([held(t) for t in tables])
    blobs = [t._parked for t in tables]
    for source in run.sources:
        source.park()
    assert [held(t) for t in tables] == parked
    assert all(t._parked is blob for t, blob in zip(tables, blobs, strict=True))
    # what stays live is a small part of what the tables held
    assert len(pickle.dumps(parked)) * 4 < len(pickle.dumps(before))
    for source in run.sources:
        source.unpark()
        source.unpark()
    assert [held(t) for t in tables] == before


def cross_checked_workspace(folder: Path) -> Config:
    """A service's action plan citing engagement 9, which no self-assessment lists, and a
    central workbook whose Service cells name a person, or nothing."""
    plan = [
        ["N° action", "Engagement", "Action", "Échéance", "État"],
        ["A1", 1, "Afficher les horaires", D(2027, 1, 15), "En cours"],
        ["A2", 9, "Engagement inconnu", D(2027, 2, 1), "À faire"],
    ]
    assessments = [
        ["Module", "N° engagement", "Engagement", "Service", "Niveau", "Date d'évaluation"],
        [MODULE, 1, "Informer", "BRCIE", "Conforme", D(2026, 9, 1)],
        [MODULE, 2, "Accueillir", "M. Durand", "Conforme", D(2026, 9, 1)],
    ]
    actions = [
        ["N° action", "Engagement", "Action", "Service pilote", "Échéance", "État"],
        ["P1", 2, "Tracer les courriels", "BRCIE", D(2027, 1, 1), "En cours"],
        ["P2", 1, "Signalétique du hall", None, D(2027, 1, 20), "À faire"],
        ["P3", 9, "Relancer le standard", "M. Durand", D(2027, 1, 2), "En cours"],
    ]
    make_workbook(folder / "BRCIE.xlsx", {"Plan d'actions": plan})
    make_workbook(folder / "Central.xlsx", {"Autoévaluation": assessments,
                                            "Plan d'actions": actions})  # fmt: skip
    raw = {
        "sources": [
            {"service": "BRCIE", "name": "Bureau de la communication", "xlsx": "BRCIE.xlsx"},
            {"service": "MQ", "name": "Mission qualité", "path": "Central.xlsx", "central": True},
        ]
    }
    return parse_config(raw, folder)


def test_the_warnings_across_sources_are_the_same_on_parked_tables(tmp_path: Path) -> None:
    config = cross_checked_workspace(tmp_path)
    whole, parked = run_check(config, TODAY), run_check(config, TODAY, park=True)
    messages = [f.message for f in whole.report.findings]
    assert sum("ne figure dans aucune autoévaluation" in m for m in messages) == 2
    assert sum("service inconnu « M. Durand »" in m for m in messages) == 2
    assert sum("service non renseigné" in m for m in messages) == 1
    assert parked.report.to_dict() == whole.report.to_dict()
    assert all(t.parked for t in tables_of(parked))
    for a, b in zip(tables_of(whole), tables_of(parked), strict=True):
        assert b.findings == a.findings
        b.unpark()
        assert held(b) == held(a)


def test_a_parked_table_cannot_be_planned_on_an_empty_state(demo: Config) -> None:
    """Planned on a parked table, the write-back would see no cell beside the table and
    could put a new owned column over a user's cells: it must refuse, not guess."""
    run = run_check(demo, TODAY, park=True)
    table = next(t for t in tables_of(run) if t.tracker == "plan_actions")
    with pytest.raises(RuntimeError, match="unpark"):
        plan_sheet(table, {})
    run.unpark()
    assert plan_sheet(table, {}).header_row == table.sheet.header_row  # whole again: plans
