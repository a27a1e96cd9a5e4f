"""The schema checks of validation (core/validate.py ``schema_failures``) against pandera's own.

Validation runs the checks of each tracker's pandera schema column by column and formats the
findings itself, rather than through ``schema.validate(frame, lazy=True)``, which costs more
than the checks on a large sheet. These tests hold the two equal: the same failing cells,
checks and order (the order of findings, and of the Contrôle texts made of them), on random
frames of typed values for every shipped spec and for specs edited as a quality lead would.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import pandas as pd
import pandera.pandas as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qep_sync.core.specs import Field, TrackerSpec, build_schema, load_specs
from qep_sync.core.validate import schema_failures

SPECS = load_specs()


def pandera_failures(schema: pa.DataFrameSchema, frame: pd.DataFrame) -> list[tuple[str, str, int]]:
    """(field, check, row) of pandera's failure cases, in its order, those of a cell only."""
    try:
        schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
        return [
            (case.column, str(case.check), int(case.index))
            for case in cases.itertuples(index=False)
            if case.index is not None and not pd.isna(case.index)
        ]
    return []


def failures(schema: pa.DataFrameSchema, frame: pd.DataFrame) -> list[tuple[str, str, int]]:
    """``schema_failures`` of a frame's columns, as validation gives them."""
    columns = {name: frame[name].tolist() for name in frame.columns}
    return schema_failures(schema, columns, frame.index)


def value_for(f: Field, rng: random.Random, pool: list[Any]) -> Any:
    """A typed value as parsing gives it, often a valid one, sometimes a wrong or repeated one."""
    roll = rng.random()
    if roll < 0.15:
        return None
    if roll < 0.3 and pool:
        return rng.choice(pool)  # a duplicate
    if f.enum:
        return rng.choice(f.enum) if rng.random() < 0.8 else rng.choice(["Autre chose", "?"])
    if f.format == "email":
        return rng.choice(["a.b@doubs.gouv.fr", "c@x.fr", "pas une adresse", "x@y"])
    if f.type in ("number", "integer"):
        low = f.minimum if f.minimum is not None else 0
        high = f.maximum if f.maximum is not None else 100
        number = rng.uniform(low - 2, high + 2)
        return round(number) if f.type == "integer" else number
    if f.type in ("date", "month"):
        return dt.date(2023, 1, 1) + dt.timedelta(days=rng.randrange(400))
    if f.type == "boolean":
        return rng.random() < 0.5
    return rng.choice(["A1", "A2", "B7", "texte", "N° 12", "Accueil"]) + str(rng.randrange(40))


def random_frame(spec: TrackerSpec, rows: int, rng: random.Random) -> pd.DataFrame:
    """A frame as validate_sheet builds it: object columns indexed by sheet row, some absent."""
    data: dict[str, list[Any]] = {}
    for f in spec.fields:
        if rng.random() < 0.1:
            continue  # a column the sheet does not have
        pool: list[Any] = []
        for _ in range(rows):
            pool.append(value_for(f, rng, pool))
        data[f.name] = pool
    index = pd.Index(range(3, 3 + rows), name="row")
    return pd.DataFrame(data, index=index, dtype=object)


@pytest.mark.parametrize("tracker", sorted(SPECS))
def test_schema_failures_are_pandera_failure_cases(tracker: str) -> None:
    spec = SPECS[tracker]
    rng = random.Random(tracker)
    # Sizes across numpy's small-sort threshold (16), where pandera's sort starts shuffling.
    for rows in [1, 2, 5, 9, 17, 30, 64, 150, 400]:
        for _ in range(3):
            frame = random_frame(spec, rows, rng)
            if frame.empty:
                continue
            expected = pandera_failures(spec.schema, frame)
            assert failures(spec.schema, frame) == expected, (tracker, rows)


def test_schema_failures_follow_an_edited_spec() -> None:
    """A spec a lead edited (a pattern, bounds on a text, a bound that is no number: a check
    that cannot run) is checked as pandera checks it."""
    spec = SPECS["plan_actions"]
    fields = tuple(
        Field(f.name, f.title, f.type, f.format, f.required, f.unique, f.enum,
              f.minimum if f.name != "numero" else "A",  # type: ignore[arg-type]
              f.maximum, r"A\d+" if f.name == "numero" else f.pattern)
        for f in spec.fields
    )  # fmt: skip
    edited = TrackerSpec(spec.name, spec.title, "", spec.sheet_titles, fields, spec.computed)
    schema = build_schema(edited)
    rng = random.Random(7)
    for rows in [3, 20, 100]:
        frame = random_frame(edited, rows, rng)
        assert failures(schema, frame) == pandera_failures(schema, frame)


def test_a_clean_frame_fails_nothing() -> None:
    spec = SPECS["courriers"]
    frame = pd.DataFrame(
        {"numero": ["1", "2"], "canal": ["Courrier", "Courriel"],
         "date_reception": [dt.date(2023, 1, 2), dt.date(2023, 1, 3)]},
        index=pd.Index([2, 3], name="row"), dtype=object,
    )  # fmt: skip
    assert failures(spec.schema, frame) == [] == pandera_failures(spec.schema, frame)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(1, 60), unique=True), st.booleans(), st.integers(-5, 70))
def test_row_positions_answer_as_the_dict_they_replace(
    rows: list[int], ordered: bool, probe: int
) -> None:
    """A table's positions (kept small: a range, an array) answer as {row: i} would."""
    from qep_sync.core.validate import RowPositions

    rows = sorted(rows) if ordered else rows
    expected = {row: i for i, row in enumerate(rows)}
    positions = RowPositions(rows)
    assert list(positions) == rows and len(positions) == len(rows) and dict(positions) == expected
    assert (probe in positions) == (probe in expected)
    assert positions.get(probe) == expected.get(probe)
