"""The write-back's two paths agree (docs/contract.md §7): a plain worksheet patched as bytes
(``sheetsplice``) comes out as the tree path (``sheetxml.patch_sheet``) makes it, up to
serialisation details, and keeps every row it does not write byte for byte; any other sheet
is left to the tree path.

The real syncs below (the tracker workbook with every feature, the demo workspace, a later
day's sync that rewrites owned cells) run with a write-back that makes both and compares
their canonical XML; random patches on generated sheets do the same.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest
from conftest import TODAY
from fidelity_workbooks import build_tracker_workbook
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from qep_sync.backends import xlsx_write
from qep_sync.backends.sheetsplice import splice_sheet
from qep_sync.backends.sheetxml import StyleIds, patch_sheet
from qep_sync.config import config_for_files, load_config
from qep_sync.core.contract import OwnedLayout, SheetPatch
from qep_sync.jobs.sync import run_sync
from qep_sync.workspace.create import create_workspace

NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
STYLES = StyleIds(header=5, date=6, wrap=7, dxfs=(("red", 0), ("orange", 1), ("green", 2)))


def canonical(xml: bytes) -> bytes:
    return etree.tostring(etree.fromstring(xml), method="c14n")


def both(xml: bytes, patch: SheetPatch, *, date1904: bool = False) -> tuple[Any, Any]:
    """The splice's result (None: not plain) and the tree path's, compared when both are."""
    spliced = splice_sheet(xml, patch, STYLES, date1904=date1904)
    tree = patch_sheet(xml, patch, STYLES, date1904=date1904)
    if spliced is not None:
        assert canonical(spliced.xml) == canonical(tree.xml)
        assert spliced.autofilter == tree.autofilter
        assert not tree.had_formula
    return spliced, tree


@pytest.fixture
def compared(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Every write-back of the test makes both paths and compares them; counts each kind."""
    seen = {"spliced": 0, "tree": 0}

    def compare(xml: bytes, patch: SheetPatch, styles: StyleIds, *, date1904: bool = False) -> Any:
        spliced = splice_sheet(xml, patch, styles, date1904=date1904)
        if spliced is None:
            seen["tree"] += 1
            return None
        tree = patch_sheet(xml, patch, styles, date1904=date1904)
        assert canonical(spliced.xml) == canonical(tree.xml), patch.part
        assert spliced.autofilter == tree.autofilter
        seen["spliced"] += 1
        return spliced

    monkeypatch.setattr(xlsx_write, "splice_sheet", compare)
    return seen


# ---------------------------------------------------------------- real syncs


@pytest.mark.parametrize("suffix", ["xlsx", "xlsm"])
def test_the_tracker_workbook_synced_twice_takes_the_splice_and_agrees(
    tmp_path: Path, compared: dict[str, int], suffix: str
) -> None:
    path = tmp_path / f"Suivi.{suffix}"
    build_tracker_workbook(path, TODAY, macro=suffix == "xlsm")
    first = run_sync(config_for_files([path]), TODAY)
    later = run_sync(config_for_files([path]), TODAY + dt.timedelta(days=45))  # statuses move
    assert [w.status for w in first.writes + later.writes] == ["written", "written"]
    assert compared["spliced"] >= 3  # both trackers the first time, again the later day


@pytest.mark.parametrize("small", [False, True], ids=["as shipped", "arrays cut small"])
def test_the_demo_workspace_synced_twice_agrees(
    tmp_path: Path, compared: dict[str, int], monkeypatch: pytest.MonkeyPatch, small: bool
) -> None:
    """The splice's checks run over a few cells and bytes at a time: cut at every few cells,
    a row spread over several cuts is still checked and written as the tree path does."""
    if small:
        from qep_sync.backends import sheetscan, sheetsplice

        monkeypatch.setattr(sheetsplice, "_CELLS_AT_ONCE", 3)
        monkeypatch.setattr(sheetscan, "_CHUNK", 64)
    create_workspace(tmp_path, demo=True, today=TODAY, force=False)
    config = load_config(tmp_path / "qep-sync.toml")
    run_sync(config, TODAY)
    run_sync(config, TODAY + dt.timedelta(days=20))
    assert compared["spliced"] >= 20


def test_untouched_rows_are_kept_byte_for_byte(tmp_path: Path) -> None:
    xml = sheet([["N°", "Objet"], [1, "a\u00a0&amp; b"], [2, "c"]], extra_row=b'ht="30"')
    patch = SheetPatch("Délais", "xl/worksheets/sheet1.xml", 1, headers={2: "Statut"},
                       cells={(3, 2): "En retard"})  # fmt: skip
    spliced, _ = both(xml, patch)
    assert spliced is not None
    row2 = re.search(rb'<row r="2".*?</row>', xml)
    assert row2 is not None and row2.group(0) in spliced.xml


@pytest.mark.parametrize("spans", [b"", b' spans="1:2"'], ids=["bare", "with spans"])
def test_a_self_closed_row_is_kept_and_one_written_to_is_opened(spans: bytes) -> None:
    """« <row r="4"/> » ends where its tag does: the rows after it are still read, and a row
    written to gets its cells between a start tag and a « </row> »."""
    xml = sheet([["N°", "Objet"], [1, "a"], [2, "b"]], strings=True, spans=False)
    xml = xml.replace(b"</sheetData>", b'<row r="5"%s/><row r="6"%s/></sheetData>' % (spans, spans))
    patch = SheetPatch("Délais", "p", 1, headers={2: "Statut"},
                       cells={(3, 2): "À venir", (6, 2): "En retard"})  # fmt: skip
    spliced, _ = both(xml, patch)
    assert spliced is not None
    assert b'<row r="5"%s/>' % spans in spliced.xml
    assert re.search(rb'<row r="6"[^>]*><c r="C6"[^>]*>.*?</c></row></sheetData>', spliced.xml)


# ---------------------------------------------------------------- not plain: the tree path


NOT_PLAIN = {
    "a row twice": (b'<row r="3">', b'<row r="2">'),
    "rows out of order": (b'<row r="1">', b'<row r="4">'),
    "a cell of another row": (b'<c r="A3"', b'<c r="A4"'),
    "cells out of order": (b'<c r="B2"', b'<c r="A2"'),
    "a cell without its reference": (b'<c r="B2"', b"<c"),
    "a reference not first": (b'<c r="A3" s="2">', b'<c s="2" r="A3">'),
    "single quotes": (b'<row r="3">', b"<row r='3'>"),
    "a row number not first": (b'<row r="3">', b'<row ht="20" r="3">'),
    "indented rows": (b'</row><row r="3">', b'</row>\n  <row r="3">'),
    "a comment": (b"<sheetData>", b"<sheetData><!-- note -->"),
    "an extLst in a row": (b'</c></row><row r="3">', b'</c><extLst/></row><row r="3">'),
    "text between rows": (b'</row><row r="3">', b'</row>x<row r="3">'),
    "text in a row": (b'<row r="3"><c', b'<row r="3">x<c'),
    "text between cells": (b'</c><c r="B2"', b'</c> <c r="B2"'),
    "a tab before a reference": (b'<c r="B2"', b'<c\tr="B2"'),
    "UTF-16 declared": (b"encoding='UTF-8'", b"encoding='UTF-16'"),
    "a row's end mistyped": (b'</c></row><row r="3">', b'</c></rov><row r="3">'),
    "a row left open": (b'</c></row><row r="3">', b'</c><row r="3">'),
}


@pytest.mark.parametrize("what", NOT_PLAIN)
def test_a_sheet_that_is_not_plain_is_left_to_the_tree_path(what: str) -> None:
    xml = sheet([["N°", "Objet"], [1, "a"], [2, "b"]], strings=True, spans=False)
    old, new = NOT_PLAIN[what]
    assert old in xml
    changed = xml.replace(old, new, 1)
    patch = SheetPatch("Délais", "p", 1, headers={2: "Statut"}, cells={(2, 2): "À venir"})
    assert splice_sheet(xml, patch, STYLES) is not None  # as built, it is plain
    assert splice_sheet(changed, patch, STYLES) is None


def test_an_owned_cell_holding_a_formula_is_left_to_the_tree_path() -> None:
    xml = sheet([["N°", "Statut"], [1, "x"]]).replace(
        b'<c r="B2" t="inlineStr"><is><t>x</t></is></c>', b'<c r="B2"><f>1+1</f><v>2</v></c>'
    )
    patch = SheetPatch("Délais", "p", 1, cells={(2, 1): "En retard"})
    assert splice_sheet(xml, patch, STYLES) is None
    assert patch_sheet(xml, patch, STYLES).had_formula


def test_malformed_xml_is_left_to_the_tree_path_which_refuses_it() -> None:
    xml = sheet([["N°"], [1]]).replace(b"</sheetData>", b"</sheetData><broken>")
    assert splice_sheet(xml, SheetPatch("D", "p", 1, cells={(2, 1): 1}), STYLES) is None


# ---------------------------------------------------------------- random patches


def sheet(
    rows: list[list[Any]], *, extra_row: bytes = b"", strings: bool = False, spans: bool = True
) -> bytes:
    """A plain worksheet part as Excel writes one: rows numbered from 1, cells referenced."""
    out = []
    for r, values in enumerate(rows, start=1):
        cells = []
        for c, value in enumerate(values):
            ref = f"{chr(65 + c)}{r}".encode()
            if isinstance(value, str) and strings:
                cells.append(b'<c r="%s" t="s"><v>0</v></c>' % ref)
            elif isinstance(value, str):
                cells.append(
                    b'<c r="%s" t="inlineStr"><is><t>%s</t></is></c>' % (ref, value.encode())
                )
            else:
                cells.append(b'<c r="%s" s="2"><v>%d</v></c>' % (ref, value))
        attrs = b' spans="1:%d"' % len(values) if spans else b""
        if r == 2 and extra_row:
            attrs += b" " + extra_row
        out.append(b'<row r="%d"%s>%s</row>' % (r, attrs, b"".join(cells)))
    return (
        b"<?xml version='1.0' encoding='UTF-8' standalone='yes'?>\n"
        b'<worksheet xmlns="' + NS.encode() + b'" xmlns:r="http://schemas.openxmlformats.org/'
        b'officeDocument/2006/relationships"><dimension ref="A1:B3"/><sheetViews><sheetView '
        b'workbookViewId="0"/></sheetViews><sheetData>' + b"".join(out) + b"</sheetData>"
        b'<autoFilter ref="A1:B3"/><pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" '
        b'header="0.3" footer="0.3"/></worksheet>'
    )


VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.dates(dt.date(1950, 1, 1), dt.date(2080, 12, 31)),
    st.sampled_from(
        [
            "En retard",
            "À venir",
            " espace ",
            "a & b < c > d",
            "ligne\r\nsuite",
            "_x0007_",
            "\x07bip",
            "=1+1",
            "Dans les temps",
        ]
    ),
    st.text(max_size=12),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data_rows=st.integers(0, 6),
    writes=st.dictionaries(st.tuples(st.integers(1, 10), st.integers(0, 6)), VALUES, max_size=25),
    headers=st.dictionaries(st.integers(2, 6), st.sampled_from(["Statut", "Contrôle"]), max_size=3),
    header_row=st.integers(1, 3),
    date1904=st.booleans(),
    spans=st.booleans(),
    strings=st.booleans(),
)
def test_random_patches_agree(
    data_rows: int,
    writes: dict[tuple[int, int], Any],
    headers: dict[int, str],
    header_row: int,
    date1904: bool,
    spans: bool,
    strings: bool,
) -> None:
    rows: list[list[Any]] = [["N°", "Objet"]] + [[i, f"objet {i}"] for i in range(data_rows)]
    xml = sheet(rows, spans=spans, strings=strings, extra_row=b'ht="30" customHeight="1"')
    layout = OwnedLayout(columns={c: "x" for c in {*headers, *(c for _, c in writes)}},
                         first_row=2, last_row=max(2, data_rows + 1),
                         colours={3: {"En retard": "red"}}, wrapped={4})  # fmt: skip
    patch = SheetPatch("Délais", "p", header_row, headers=headers, cells=writes,
                       widths={c: 12.0 for c in headers}, layout=layout)  # fmt: skip
    spliced, _ = both(xml, patch, date1904=date1904)
    assert spliced is not None


def test_the_demo_workbooks_are_plain(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every tracker the demo writes takes the splice (its first sync writes them all)."""
    create_workspace(tmp_path, demo=True, today=TODAY, force=False)
    seen: list[bool] = []
    original = xlsx_write.splice_sheet

    def spy(xml: bytes, patch: SheetPatch, styles: StyleIds, *, date1904: bool = False) -> Any:
        result = original(xml, patch, styles, date1904=date1904)
        seen.append(result is not None)
        return result

    monkeypatch.setattr(xlsx_write, "splice_sheet", spy)
    run_sync(load_config(tmp_path / "qep-sync.toml"), TODAY)
    assert seen and all(seen)


def test_well_formedness_is_remembered_only_for_what_parsed() -> None:
    from qep_sync.backends.zipparts import well_formed

    good = sheet([["N°"], [1]])
    bad = good.replace(b"</worksheet>", b"")
    assert well_formed(good) and well_formed(good)  # the second answer from the digest
    assert not well_formed(bad) and not well_formed(bad)


# ---------------------------------------------------------------- the cells-only test in arrays

# The row pattern and the four patterns the rows' reading and the array test replaced (each a
# way rows stop being only cells, searched in the body): their oracle here.
_OLD_ROW = re.compile(rb'<row r="([1-9][0-9]{0,6})"([^>]*?)(?:/>|>(.*?)</row>)', re.S)
_NOT_ONLY_CELLS = (
    re.compile(rb'<c(?![\w:.-])(?! r=")'),
    re.compile(rb'<row r="[0-9]+"[^>]*(?<!/)>(?!<c r="|</row>)'),
    re.compile(rb"</c>(?!<c r=\"|</row>)"),
    re.compile(rb'<c r="[^"]*"[^>]*/>(?!<c r="|</row>)'),
)


def _rows_as_the_patterns_read_them(body: Any) -> list[tuple[Any, ...]] | None:
    """The rows (number, attributes, offsets) as the patterns read them; None: not plain."""
    pos, previous, found = body.start, 0, []
    for m in _OLD_ROW.finditer(body.data, body.start, body.end):
        if m.start() != pos or int(m.group(1)) <= previous:
            return None
        pos, previous = m.end(), int(m.group(1))
        inner = m.span(3) if m.start(3) >= 0 else (pos, pos)
        found.append((previous, m.group(2), m.start(), pos, *inner))
    if pos != body.end or any(p.search(body.data, body.start, body.end) for p in _NOT_ONLY_CELLS):
        return None
    return found


_CELL_KINDS = [
    b'<c r="{ref}" s="2"/>',
    b'<c r="{ref}"><v>1</v></c>',
    b'<c r="{ref}" t="s"><v>0</v></c>',
    b'<c r="{ref}" t="inlineStr"><is><t>a b</t></is></c>',
    b'<c r="{ref}" t="inlineStr"><is><r><rPr><color rgb="FF0000"/><b/></rPr><t>x</t></r></is></c>',
    b'<c r="{ref}"><f>1+1</f><v>2</v></c>',
]
_INSERTS = [b" ", b"\n", b"<extLst/>", b"<c/>", b"<c></c>", b'<c s="1" r="Z9"/>', b"x",
            b'<c\tr="Z9"/>', b'<col min="1" max="1"/>', b"<cx/>", b'<c r="Z9"/>', b"<row r='x'/>",
            b'<c r="Z9"><v>3</v></c>', b"<c\xc3\xa9/>", b"<v>1</v>"]  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_the_rows_read_in_arrays_answer_as_the_patterns_did(data: st.DataObject) -> None:
    """On plain rows and on rows made odd by an insertion at any tag boundary (spaces, text, a
    cell without its reference first, another element), in chunks of 1 MiB or 16 bytes: the
    rows' reading and the array test refuse what the patterns refused and read the same
    rows from what they accepted, wherever the sheet gets that far (well-formed, no « > » in
    an attribute)."""
    from qep_sync.backends import sheetscan, sheetsplice
    from qep_sync.backends.sheetscan import Span

    made = []
    for r in range(1, data.draw(st.integers(1, 6)) + 1):
        kinds = data.draw(st.lists(st.sampled_from(_CELL_KINDS), max_size=4))
        cells = b"".join(k.replace(b"{ref}", b"%s%d" % (bytes([65 + c]), r))
                         for c, k in enumerate(kinds))  # fmt: skip
        made.append(b'<row r="%d"/>' % r if not cells and data.draw(st.booleans())
                    else b'<row r="%d" spans="1:4">%s</row>' % (r, cells))  # fmt: skip
    body = b"".join(made)
    for _ in range(data.draw(st.integers(0, 2))):
        cuts = [m.start() for m in re.finditer(rb"<", body)] + [len(body)]
        at = data.draw(st.sampled_from(cuts))
        body = body[:at] + data.draw(st.sampled_from(_INSERTS)) + body[at:]
    frame = sheet([[1]])
    xml = frame[: frame.index(b"<sheetData>") + 11] + body + frame[frame.index(b"</sheetData>") :]
    assert body in xml
    try:
        start, end = sheetsplice._sheet_data(xml)
    except sheetsplice.NotPlain:
        return  # refused before either reading: not well-formed, a comment...
    body_span = Span(xml, start + len(b"<sheetData>"), end)
    expected = _rows_as_the_patterns_read_them(body_span)
    chunk, sheetscan._CHUNK = sheetscan._CHUNK, data.draw(st.sampled_from([1 << 20, 16]))
    try:
        rows = list(sheetsplice._rows(body_span))
        found = None if not sheetsplice._only_cells(body_span) else rows
    except sheetsplice.NotPlain:
        found = None
    finally:
        sheetscan._CHUNK = chunk
    as_read = None if found is None else [
        (r.num, r.attrs, r.start, r.end, r.content_start, r.content_end) for r in found
    ]  # fmt: skip
    assert as_read == expected
