"""Validation of one tracker sheet: cell values parsed, checked against the tracker's pandera
schema, then checked for coherence. The result is a typed table plus findings with their cells.
"""

from __future__ import annotations

import datetime as dt
import pickle
import zlib
from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache, cached_property
from itertools import pairwise, repeat
from operator import itemgetter
from typing import Any, Literal, NamedTuple

import pandas as pd
import pandera.pandas as pa

from qep_sync.cells import a1
from qep_sync.core.detect import TrackerSheet
from qep_sync.core.findings import Finding, Severity
from qep_sync.core.parsing import (
    Measure,
    Unreadable,
    brief,
    parse_boolean,
    parse_date,
    parse_integer,
    parse_measure,
    parse_month,
    parse_number,
    parse_percent,
    parse_text,
    show,
)
from qep_sync.core.specs import Field
from qep_sync.core.spill import Spill, Spilled
from qep_sync.vocabulary import ActionState, DocumentState

PERCENT_FORMATS = {"percent", "measure"}


class RowPositions(Mapping[int, int]):
    """Sheet row -> position in a table's columns, for its data rows in ascending order.

    A dict of thousands of entries per table, held for the whole run, was most of what a
    check keeps of a source: the rows are kept as a range when they follow each other (the
    usual table), else as a compact array searched by bisection.
    """

    __slots__ = ("_first", "_rows", "_stop")

    def __init__(self, rows: Iterable[int] = ()) -> None:
        listed = list(rows)
        self._rows: range | array[int] | dict[int, int]
        self._first = self._stop = 0  # rows that follow each other: first, last + 1
        if any(b <= a for a, b in pairwise(listed)):  # never from a sheet read top down
            self._rows = {row: i for i, row in enumerate(listed)}
        elif listed and listed[-1] - listed[0] + 1 == len(listed):
            self._rows = range(listed[0], listed[-1] + 1)
            self._first, self._stop = listed[0], listed[-1] + 1
        else:  # 4 bytes a row: a sheet's rows are far below 2**32
            self._rows = array("I" if not listed or listed[-1] < 1 << 32 else "q", listed)

    def __getitem__(self, row: int) -> int:
        if self._first <= row < self._stop:  # the usual table, asked once per cell: first
            return row - self._first
        rows = self._rows
        if isinstance(rows, dict):
            return rows[row]
        if isinstance(rows, array):
            i = bisect_left(rows, row)
            if i < len(rows) and rows[i] == row:
                return i
        raise KeyError(row)

    def __contains__(self, row: object) -> bool:
        if not isinstance(row, int):
            return False
        try:
            self[row]
        except KeyError:
            return False
        return True

    def __iter__(self) -> Iterator[int]:
        return iter(self._rows)

    def __len__(self) -> int:
        return len(self._rows)


class _Parked(NamedTuple):
    """What ``Table.park`` set aside: the names of the parked fields, kept live so that
    reading one fails loudly, and the compressed pickle of the parked values."""

    fields: frozenset[str]
    blob: Spilled


@dataclass
class Table:
    """A validated tracker sheet: one row per data row, indexed by its sheet row number."""

    source: str
    service: str
    sheet: TrackerSheet
    findings: list[Finding] = field(default_factory=list)
    invalid: set[tuple[int, str]] = field(default_factory=set)  # (row, field) not usable
    measures: dict[tuple[int, str], Measure] = field(default_factory=dict)
    computed: dict[int, tuple[Any, ...]] = field(default_factory=dict)  # owned values, set by sync
    columns: dict[str, list[Any]] = field(default_factory=dict)  # field -> values in row order
    positions: RowPositions = field(default_factory=RowPositions)  # sheet row -> column index
    _parked: _Parked | None = field(default=None, repr=False, compare=False)  # see park

    @property
    def tracker(self) -> str:
        return self.sheet.spec.name

    @property
    def parked(self) -> bool:
        """Whether the table's values are set aside by ``park`` (until ``unpark``)."""
        return self._parked is not None

    def park(self, keep: frozenset[str], spill: Spill | None = None) -> None:
        """Set the values aside, compressed, except the fields in ``keep``: a run that holds
        every source's tables to its end then keeps of each a small part of their memory.

        The columns not in ``keep``, the measures, the owned values and the sheet's kept
        content go into one blob (pickle, then zlib at its fastest level) until ``unpark``,
        in ``spill``'s file when given (memory then holds only its place); reading a parked
        field meanwhile is an error, never a silent None. A parked table is left as it is.
        """
        if self._parked is not None:
            return
        parked = {name: column for name, column in self.columns.items() if name not in keep}
        held = (list(self.columns), parked, self.measures, self.computed, self.sheet.kept)
        blob = zlib.compress(pickle.dumps(held, protocol=5), 1)
        self._parked = _Parked(frozenset(parked), spill.put(blob) if spill else Spilled(blob))
        self.columns = {name: column for name, column in self.columns.items() if name in keep}
        self.measures = {}
        self.computed = {}
        self.sheet.kept = None
        self.__dict__.pop("frame", None)  # made of every column: made again when asked

    def unpark(self) -> None:
        """Bring back what ``park`` set aside, the columns in their first order (code walks
        them in it); a table not parked is left as it is."""
        if self._parked is None:
            return
        blob = self._parked.blob.read()
        order, parked, measures, computed, kept = pickle.loads(zlib.decompress(blob))
        live = self.columns
        columns = {name: live[name] if name in live else parked[name]
                   for name in order if name in live or name in parked}  # fmt: skip
        columns.update(live)  # a field set while parked, if ever: last
        self.columns, self.measures, self.computed = columns, measures, computed
        self.sheet.kept = kept
        self._parked = None

    def _live(self, name: str) -> None:
        """Fail on reading a parked field: its values are in the blob, not ``columns``."""
        if self._parked is not None and name in self._parked.fields:
            raise RuntimeError(
                f"field {name!r} of {self.source} ({self.tracker}) read while parked: unpark first"
            )

    @cached_property
    def frame(self) -> pd.DataFrame:
        """The typed values as a frame (object columns, indexed by sheet row), made on first
        use: validation and the owned columns work on ``columns``, and a frame per sheet
        held for the whole run doubled the memory the values take."""
        if self._parked is not None:
            raise RuntimeError(f"frame of {self.source} ({self.tracker}) asked while parked")
        index = pd.Index(list(self.positions), name="row")
        return pd.DataFrame(self.columns, index=index, dtype=object)

    def value(self, row: int, name: str) -> Any:
        """The typed value of a field in a row, None when empty, absent or invalid."""
        if (row, name) in self.invalid:
            self._live(name)
            return None
        return self.parsed(row, name)

    def parsed(self, row: int, name: str) -> Any:
        """The value as parsed, even when a check rejected it; None when empty or unreadable."""
        column = self.columns.get(name)
        if column is None:
            self._live(name)
            return None
        return column[self.positions[row]]

    def values(self, name: str) -> list[Any]:
        """``value`` of every row, in row order, at the cost of one pass over ``invalid``."""
        column = self.columns.get(name)
        if column is None:
            self._live(name)
            return [None] * len(self.positions)
        out = list(column)
        for row, field_name in self.invalid:
            if field_name == name:
                out[self.positions[row]] = None
        return out


Parser = Callable[[Any, bool], Any]


def _number(value: Any, percent: bool) -> float | None:
    number = parse_number(value)
    return None if number is None else number.value


def parser_for(f: Field) -> Parser:
    """The function that turns a raw cell of this field into its typed value."""
    simple: dict[str, Callable[[Any], Any]] = {
        "date": parse_date,
        "month": parse_month,
        "integer": parse_integer,
        "boolean": parse_boolean,
    }
    if f.type in simple:
        parse = simple[f.type]
        return lambda value, percent: parse(value)
    if f.type == "number":
        return {"percent": parse_percent, "measure": parse_measure}.get(f.format or "", _number)
    if f.enum:
        canonical = f.canonical

        def enum_text(value: Any, percent: bool) -> str | None:
            text = parse_text(value)
            return None if text is None else (canonical(text) or text)

        return enum_text
    return lambda value, percent: parse_text(value)


class _Recorder:
    """Builds findings for one sheet, with source, service, sheet and cell filled in."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self.ts = table.sheet

    def add(
        self, row: int | None, name: str | None, message: str, severity: Severity, raw: Any = None
    ) -> None:
        ts = self.ts
        col = ts.columns.get(name) if name else None
        header = ts.headers.get(name, "") if name else ""
        cell = a1(row, col) if row is not None and col is not None else ""
        self.table.findings.append(
            Finding(
                source=self.table.source,
                service=self.table.service,
                sheet=ts.title,
                cell=cell,
                column=header,
                value="" if raw is None else show(raw),
                message=f"{header} : {message}" if header else message,
                severity=severity,
                row=row,
                tracker=ts.spec.name,
            )
        )
        if name is not None and row is not None and severity is Severity.ERROR:
            self.table.invalid.add((row, name))


def _raw(ts: TrackerSheet, row_cells: list[Any], name: str) -> Any:
    col = ts.columns[name]
    return row_cells[col] if col < len(row_cells) else None


@dataclass(frozen=True)
class _Refused:
    """Why a cell could not be parsed (an Unreadable's French message), as a cached outcome."""

    reason: str


# Raw values whose parse is cached by value: equal ones of these types parse alike (a number
# is not: True == 1 == 1.0 and -0.0 == 0.0, yet they parse apart), and they are the cells
# that cost most to parse (texts: cleaning, folding, date patterns) and repeat most.
_CACHED = (str, dt.date, dt.datetime)
_SPECIAL = (_Refused, Measure)  # outcomes that are not plain values
_UNSEEN = object()  # a cell whose outcome is not known yet


def _outcome(parse: Parser, raw: Any, percent: bool) -> Any:
    try:
        return parse(raw, percent)
    except Unreadable as exc:
        return _Refused(str(exc))


def _column_raws(cells: list[list[Any]], col: int) -> list[Any]:
    try:
        return list(map(itemgetter(col), cells))
    except IndexError:  # ragged rows (streamed, Google Sheets): a short row lacks the cell
        return [row[col] if col < len(row) else None for row in cells]


def _distinct_outcomes(parse: Parser, raws: list[Any]) -> tuple[dict[Any, Any], bool]:
    """The outcome of each distinct text or date of a column (None: empty), parsed once, and
    whether some outcome is not a plain value.

    The column is deduplicated in C (``dict.fromkeys``); only texts and dates are taken
    from it: equality merges True, 1 and 1.0, which parse apart, but never a text or a date
    with anything else."""
    outcomes: dict[Any, Any] = {None: None, "": None}
    special = False
    for raw in dict.fromkeys(raws):
        if type(raw) in _CACHED and raw not in outcomes:
            value = outcomes[raw] = _outcome(parse, raw, False)
            special = special or type(value) in _SPECIAL
    return outcomes, special


def _parse_unseen(parse: Parser, raws: list[Any], values: list[Any]) -> bool:
    """Fill the cells left ``_UNSEEN`` (numbers, booleans, times), found in C; a number is
    parsed once per value (a float parses as its value does; 0.0 and -0.0 apart). Whether
    some outcome is not a plain value."""
    numbers: dict[float, Any] = {}
    special = False
    try:
        i = values.index(_UNSEEN)
        while True:
            raw = raws[i]
            if type(raw) is float and raw:
                value = numbers.get(raw, _UNSEEN)
                if value is _UNSEEN:
                    value = numbers[raw] = _outcome(parse, raw, False)
            else:
                value = _outcome(parse, raw, False)
            values[i] = value
            special = special or type(value) in _SPECIAL
            i = values.index(_UNSEEN, i + 1)
    except ValueError:  # no cell left
        pass
    return special


def _parsed_column(
    f: Field,
    col: int,
    cells: list[list[Any]],
    table: Table,
    rec: _Recorder,
    percent_cells: set[tuple[int, int]],
) -> list[Any]:
    """The typed values of one field, row by row; an unreadable cell is an error finding.

    Each distinct text or date is parsed once and the column looked up in C (a column
    repeats its values: the same canal, service, agent or day on thousands of rows); only
    when some outcome is not a plain value (a refusal, a Measure) are the cells visited again.
    """
    parse = parser_for(f)
    rows = table.sheet.rows
    raws = _column_raws(cells, col)
    outcomes, special = _distinct_outcomes(parse, raws)
    values = list(map(outcomes.get, raws, repeat(_UNSEEN)))
    if _UNSEEN in values:
        special = _parse_unseen(parse, raws, values) or special
    if f.format in PERCENT_FORMATS and percent_cells:
        for i, (row, _) in enumerate(rows):
            if (row, col) in percent_cells and raws[i] is not None and raws[i] != "":
                values[i] = _outcome(parse, raws[i], True)
                special = special or type(values[i]) in _SPECIAL
    if special:
        for i, value in enumerate(values):
            if type(value) is _Refused:
                rec.add(rows[i][0], f.name, value.reason, Severity.ERROR, raws[i])
                values[i] = None
            elif type(value) is Measure:
                table.measures[(rows[i][0], f.name)] = value
                values[i] = value.value
    return values


def validate_sheet(
    ts: TrackerSheet,
    source: str,
    service: str,
    today: dt.date,
    percent_cells: set[tuple[int, int]] | None = None,
) -> Table:
    """Parse, check and cross-check one tracker sheet; findings are collected, never raised."""
    spec = ts.spec
    percent_cells = percent_cells or set()
    index = [r for r, _ in ts.rows]
    data: dict[str, list[Any]] = {}
    table = Table(source, service, ts)
    rec = _Recorder(table)
    for name in ts.missing:
        f = spec.by_name[name]
        rec.add(
            ts.header_row,
            None,
            f"colonne obligatoire « {f.title} » absente de la ligne d'en-tête (ligne {ts.header_row})",
            Severity.ERROR,
        )
    cells = [row_cells for _, row_cells in ts.rows]
    for f in spec.fields:
        if f.name in ts.columns:
            col = ts.columns[f.name]
            data[f.name] = _parsed_column(f, col, cells, table, rec, percent_cells)
    table.columns = data
    table.positions = RowPositions(index)
    _schema_findings(table, rec)
    for check in COHERENCE.get(spec.name, ()):
        check(table, rec, today)
    return table


def _schema_findings(table: Table, rec: _Recorder) -> None:
    ts = table.sheet
    if not table.positions or not table.columns:
        return  # an empty frame: pandera checks nothing
    already = {(f.row, f.column) for f in table.findings}
    first_rows: dict[str, dict[Any, int]] = {}
    index = pd.Index(list(table.positions), name="row")
    for name, check, row in schema_failures(ts.spec.schema, table.columns, index):
        if name not in ts.columns:
            continue
        f = ts.spec.by_name[name]
        if (row, ts.headers.get(name)) in already:
            continue  # already reported as unreadable
        position = table.positions[row]
        value = table.columns[name][position]
        raw = _raw(ts, ts.rows[position][1], name)
        if check == "field_uniqueness" and name not in first_rows:
            first_rows[name] = {}
            for r, v in zip(table.positions, table.columns[name], strict=True):
                first_rows[name].setdefault(v, r)
        first = first_rows.get(name, {}).get(value)
        rec.add(row, name, _message(f, check, value, first), Severity.ERROR, raw)


# pandera's report_duplicates settings, as pandas' ``duplicated(keep=...)``.
_KEEP: dict[str, Literal["first", "last", False]] = {
    "exclude_first": "first",
    "exclude_last": "last",
    "all": False,
}


def schema_failures(
    schema: pa.DataFrameSchema, columns: dict[str, list[Any]], index: pd.Index
) -> list[tuple[str, str, int]]:
    """(field, check, row) of each cell that ``schema`` rejects in the frame of ``columns``
    (object columns over ``index``, the sheet rows): the failure cases of pandera's
    ``schema.validate(frame, lazy=True)``, in the same order.

    The schema's own checks run column by column on the typed columns; what pandera's
    validation adds around them (a copy of the frame, an error per failing check with its
    failure cases rendered as text, their consolidation into one frame) cost more than the
    checks themselves on a large sheet, for nothing the findings use. The schema stays the
    one ``specs.build_schema`` makes from the spec file; tests/test_validate.py holds this
    equal to pandera's own validation.
    """
    found: list[tuple[str, str, int | None]] = []
    cellless: list[tuple[str, str, int | None]] = []  # failures of no cell, listed last
    for name, column in schema.columns.items():
        if name not in columns or not (column.checks or column.unique or not column.nullable):
            continue  # absent (the fields are optional columns), or nothing to check
        series = pd.Series(columns[name], index=index, dtype=object, name=name)
        missing = series.isna()
        gaps = bool(missing.any())
        present = series[~missing] if gaps else series  # what pandera gives ignore_na checks
        if gaps and not column.nullable:
            found += [(name, "not_nullable", row) for row in series.index[missing].tolist()]
        if column.unique:
            twice = series.duplicated(keep=_KEEP[column.report_duplicates]) & ~missing
            found += [(name, "field_uniqueness", row) for row in series.index[twice].tolist()]
        for check in column.checks:
            label = check.error or check.name or str(check)
            try:
                result = check(present if check.ignore_na else series)
            except Exception:  # as in pandera: a check that cannot run fails, on no cell
                cellless.append((name, label, None))
                continue
            if result.check_passed:
                continue
            if result.failure_cases is None:
                cellless.append((name, label, None))
                continue
            cases = result.failure_cases.dropna() if check.ignore_na else result.failure_cases
            found += [(name, label, row) for row in cases.index.tolist()]
    found += cellless
    ordered = [found[i] for i in _consolidated_order(len(found))]
    return [(name, check, row) for name, check, row in ordered if row is not None]


@cache
def _consolidated_order(count: int) -> tuple[int, ...]:
    """The order in which pandera lists ``count`` failure cases: its consolidation sorts them
    by schema context (« Column » for all of ours) with pandas' default sort, which is not
    stable, so it shuffles them. Findings, and the Contrôle texts made of them, keep that
    order as they had it when pandera reported them."""
    contexts = pd.DataFrame({"schema_context": ["Column"] * count})
    return tuple(contexts.sort_values("schema_context", ascending=False).index.tolist())


def _message(f: Field, check: str, value: Any, first: int | None) -> str:
    if check == "not_nullable":
        return "valeur obligatoire manquante"
    if check == "field_uniqueness":
        return f"« {brief(value)} » est déjà utilisé ligne {first} (valeur unique attendue)"
    if check == "enum":
        return f"« {brief(value)} » n'est pas une valeur autorisée (valeurs possibles : {', '.join(f.enum)})"
    if check in ("minimum", "maximum"):
        if f.format == "percent":
            return f"{value * 100:.0f} % hors de l'intervalle 0 % – 100 %".replace(".", ",")
        bound = f.minimum if check == "minimum" else f.maximum
        word = "supérieur ou égal" if check == "minimum" else "inférieur ou égal"
        return f"« {brief(value)} » doit être {word} à {show(float(bound or 0))}"
    if check == "email":
        return f"adresse électronique invalide « {brief(value)} »"
    if check == "pattern":
        return f"« {brief(value)} » ne respecte pas le format attendu ({f.pattern})"
    return f"« {brief(value)} » refusé ({check})"


def _date_str(day: dt.date) -> str:
    return day.strftime("%d/%m/%Y")


def _courriers(table: Table, rec: _Recorder, today: dt.date) -> None:
    if "date_reponse" not in table.columns or "date_reception" not in table.columns:
        return
    received_on, replied_on = table.values("date_reception"), table.values("date_reponse")
    for row, received, replied in zip(table.positions, received_on, replied_on, strict=True):
        if received and replied and replied < received:
            rec.add(
                row,
                "date_reponse",
                f"réponse datée du {_date_str(replied)}, avant la réception ({_date_str(received)})",
                Severity.ERROR,
                replied,
            )


def _future(name: str) -> Callable[[Table, _Recorder, dt.date], None]:
    def check(table: Table, rec: _Recorder, today: dt.date) -> None:
        if name not in table.columns:
            return
        for row, day in zip(table.positions, table.values(name), strict=True):
            if day and day > today:
                rec.add(
                    row,
                    name,
                    f"date de réalisation dans le futur ({_date_str(day)})",
                    Severity.ERROR,
                    day,
                )

    return check


def _plan_actions(table: Table, rec: _Recorder, today: dt.date) -> None:
    if "etat" not in table.columns:
        return
    done_on = table.values("date_realisation")  # all None when the column is absent
    for row, state, done_day in zip(table.positions, table.values("etat"), done_on, strict=True):
        done = state == ActionState.DONE
        if done and done_day is None and (row, "date_realisation") not in table.invalid:
            rec.add(row, "etat", "action « Fait » sans Date de réalisation", Severity.WARNING)


def _documents(table: Table, rec: _Recorder, today: dt.date) -> None:
    for row in table.positions:
        state = table.value(row, "etat")
        if state == DocumentState.VALIDATED:
            review = table.value(row, "date_mise_a_jour") and table.value(
                row, "periodicite_revision"
            )
            if (
                not review
                and table.value(row, "date_caducite") is None
                and not any(
                    (row, n) in table.invalid
                    for n in ("date_mise_a_jour", "periodicite_revision", "date_caducite")
                )
            ):
                rec.add(
                    row,
                    "etat",
                    "aucune date de révision ni de caducité (document validé)",
                    Severity.WARNING,
                )
        elif state in ("À rédiger", "En rédaction") and (
            table.value(row, "date_prevue") is None and (row, "date_prevue") not in table.invalid
        ):
            rec.add(row, "etat", "document à formaliser sans Date prévue", Severity.WARNING)


def _indicateurs(table: Table, rec: _Recorder, today: dt.date) -> None:
    for row in table.positions:
        valeur, cible = table.measures.get((row, "valeur")), table.measures.get((row, "cible"))
        if valeur is None or cible is None or valeur.percent == cible.percent:
            continue
        plain = cible if valeur.percent else valeur
        if abs(plain.value) > 1:
            rec.add(
                row,
                "cible",
                "Valeur et Cible ne sont pas dans la même unité (l'une en %, l'autre non) : "
                "l'écart calculé serait faux",
                Severity.WARNING,
            )


COHERENCE: dict[str, tuple[Callable[[Table, _Recorder, dt.date], None], ...]] = {
    "courriers": (_courriers,),
    "plan_actions": (_plan_actions, _future("date_realisation")),
    "formations": (_future("date_realisee"),),
    "documents": (_documents,),
    "indicateurs": (_indicateurs,),
}
