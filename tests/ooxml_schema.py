"""Validate SpreadsheetML parts against the published ECMA-376 / ISO/IEC 29500 transitional
schemas (tests/data/ecma-376, see its README), as Excel would judge them.

``violations(xml, kind)`` checks one part — ``kind`` is ``"worksheet"`` (root ``worksheet``,
CT_Worksheet) or ``"styles"`` (root ``styleSheet``) — and returns short messages
(``line N: element: message``); an empty list means the part is valid. ``workbook_violations``
does it for every worksheet part of a .xlsx and its styles.xml.

Before validating, the part goes through markup-compatibility processing (ECMA-376 Part 3), as a
consumer that understands only the transitional SpreadsheetML namespaces does:

- elements and attributes in a namespace listed by an ``mc:Ignorable`` in scope (x14ac, xr,
  xr2, xr3, xr6, xr10, x14, ...) are removed, as are the ``mc:*`` attributes themselves;
- ``mc:AlternateContent`` is replaced by its first ``mc:Choice`` whose ``Requires`` namespaces
  are all understood, else by its ``mc:Fallback``, else removed;
- an ``mc:MustUnderstand`` naming a namespace not understood is itself reported;
- ``extLst`` content is left alone: the schema declares it ``xsd:any`` (lax), so an extension
  Excel does not know is not an error here either.

``xml:space`` is accepted on any element (its value must be ``preserve`` or ``default``):
the schema types ``<t>`` as a simple type that allows no attribute, yet Excel writes
``<t xml:space="preserve">`` whenever a text starts or ends with a space, and the Open XML SDK
accepts it. Anything else in a foreign namespace is kept, so the schema reports it.

Line numbers are those of the original part. The compiled schema is cached for the whole test
session.

A worksheet is also checked for what Excel requires of ``sheetData`` and the schema cannot say
(Excel « repairs » the file otherwise): rows in strictly increasing ``r``, cells of a row in
strictly increasing columns (so no duplicate cell), each cell's reference in its own row.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

from lxml import etree

SCHEMA_DIR = Path(__file__).parent / "data" / "ecma-376"
NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
NS_R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
NS_MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"
NS_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
WORKSHEET_REL = NS_R + "/worksheet"
STYLES_REL = NS_R + "/styles"
ROOTS = {"worksheet": "worksheet", "styles": "styleSheet"}
# The namespaces this consumer understands (what the schema compiled below declares for a
# worksheet and styles.xml); an mc:Choice requiring anything else is not taken.
UNDERSTOOD = frozenset({NS_MAIN, NS_R})
PREFIXES = {
    NS_MAIN: "",
    NS_R: "r:",
    NS_MC: "mc:",
    "http://schemas.microsoft.com/office/spreadsheetml/2009/9/ac": "x14ac:",
    "http://schemas.microsoft.com/office/spreadsheetml/2009/9/main": "x14:",
    "http://schemas.microsoft.com/office/spreadsheetml/2014/revision": "xr:",
    "http://www.w3.org/XML/1998/namespace": "xml:",
}
MC_IGNORABLE = f"{{{NS_MC}}}Ignorable"
MC_MUST = f"{{{NS_MC}}}MustUnderstand"
MC_ALTERNATE = f"{{{NS_MC}}}AlternateContent"
MC_CHOICE = f"{{{NS_MC}}}Choice"
MC_FALLBACK = f"{{{NS_MC}}}Fallback"
EXT_LST = f"{{{NS_MAIN}}}extLst"
XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"

_schema: etree.XMLSchema | None = None


def schema() -> etree.XMLSchema:
    """The SpreadsheetML schema (sml.xsd and what it imports), compiled once."""
    global _schema
    if _schema is None:
        parser = etree.XMLParser(resolve_entities=False, no_network=True)
        _schema = etree.XMLSchema(etree.parse(str(SCHEMA_DIR / "sml.xsd"), parser))
    return _schema


def _short(text: str) -> str:
    """``{namespace}name`` written with a prefix (none for the main namespace)."""

    def prefix(match: re.Match[str]) -> str:
        ns = match.group(1)
        return PREFIXES.get(ns, "{" + ns + "}")

    return re.sub(r"\{([^}]*)\}", prefix, text)


def _qname_of(element: etree._Element) -> str:
    return _short(element.tag) if isinstance(element.tag, str) else "?"


def _namespaces(element: etree._Element, prefixes: str | None) -> set[str]:
    """The namespaces named by a whitespace-separated list of prefixes, in ``element``'s scope."""
    found = set()
    for prefix in (prefixes or "").split():
        ns = element.nsmap.get(prefix)
        found.add(ns if ns is not None else f"(undeclared prefix {prefix})")
    return found


def _mc_process(element: etree._Element, ignorable: frozenset[str], problems: list[str]) -> None:
    """Apply markup-compatibility processing to ``element``'s attributes and descendants."""
    ignorable = ignorable | _namespaces(element, element.get(MC_IGNORABLE))
    not_understood = _namespaces(element, element.get(MC_MUST)) - UNDERSTOOD
    if not_understood:
        problems.append(f"line {element.sourceline}: {_qname_of(element)}: mc:MustUnderstand "
                        f"names namespaces not understood: {sorted(not_understood)}")  # fmt: skip
    for name in list(element.attrib):
        ns = etree.QName(name).namespace
        if ns == NS_MC or ns in ignorable:
            del element.attrib[name]
    if element.tag == EXT_LST:
        return  # xsd:any in the schema: extensions are not MC-processed here
    for child in list(element):
        if not isinstance(child.tag, str):
            continue  # comments and processing instructions
        if child.tag == MC_ALTERNATE:
            chosen = _choose(child)
            index = element.index(child)
            element.remove(child)
            replacement = list(chosen) if chosen is not None else []
            for offset, grandchild in enumerate(replacement):
                element.insert(index + offset, grandchild)
            for grandchild in replacement:
                if isinstance(grandchild.tag, str):
                    _process_child(element, grandchild, ignorable, problems)
            continue
        _process_child(element, child, ignorable, problems)


def _process_child(
    parent: etree._Element,
    child: etree._Element,
    ignorable: frozenset[str],
    problems: list[str],
) -> None:
    ns = etree.QName(child).namespace
    if ns in ignorable:
        parent.remove(child)
    else:
        _mc_process(child, frozenset(ignorable), problems)


def _choose(alternate: etree._Element) -> etree._Element | None:
    """The branch of an mc:AlternateContent a consumer of UNDERSTOOD takes (None: nothing)."""
    for branch in alternate:
        if branch.tag == MC_CHOICE:
            if _namespaces(branch, branch.get("Requires")) <= UNDERSTOOD:
                return branch
        elif branch.tag == MC_FALLBACK:
            return branch
    return None


def violations(xml: bytes, kind: str) -> list[str]:
    """Schema violations of a worksheet part (``kind="worksheet"``) or styles.xml
    (``kind="styles"``), after markup-compatibility processing; [] when valid."""
    expected = ROOTS[kind]
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
    try:
        root = etree.fromstring(xml, parser)
    except etree.XMLSyntaxError as exc:
        return [f"line {exc.lineno}: not well-formed: {exc.msg}"]
    if root.tag != f"{{{NS_MAIN}}}{expected}":
        return [f"line {root.sourceline}: {_qname_of(root)}: root is not {expected}"]
    problems: list[str] = []
    _mc_process(root, frozenset(), problems)
    for element in root.iter("*"):
        space = element.get(XML_SPACE)
        if space is None:
            continue
        del element.attrib[XML_SPACE]
        if space not in ("preserve", "default"):
            problems.append(f"line {element.sourceline}: {_qname_of(element)}@xml:space: "
                            f"invalid value {space!r} (preserve or default)")  # fmt: skip
    checker = schema()
    if not checker.validate(root):
        for error in checker.error_log:
            message = _short(error.message)
            match = re.match(r"Element '([^']*)'(?:, attribute '([^']*)')?: ", message)
            if match:
                element = match.group(1) + (f"@{match.group(2)}" if match.group(2) else "")
                message = message[match.end() :]
            else:
                element = "?"
            problems.append(f"line {error.line}: {element}: {message}")
    if kind == "worksheet":
        problems.extend(_sheet_data_order(root))
    return problems


def _column_number(letters: str) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + ord(letter) - ord("A") + 1
    return number


def _sheet_data_order(root: etree._Element) -> list[str]:
    """Rows and cells out of order, duplicated, or a cell whose reference is in another row."""
    problems: list[str] = []
    sheet_data = root.find(f"{{{NS_MAIN}}}sheetData")
    if sheet_data is None:
        return problems
    last_row = 0
    for row in sheet_data.iterfind(f"{{{NS_MAIN}}}row"):
        line = row.sourceline
        r = row.get("r")
        number = int(r) if r is not None and r.isdigit() else last_row + 1
        if number <= last_row:
            problems.append(f"line {line}: row: r={number} after row {last_row} (rows must be "
                            "in increasing order, each once)")  # fmt: skip
        last_row = max(last_row, number)
        last_col = 0
        for cell in row.iterfind(f"{{{NS_MAIN}}}c"):
            ref = cell.get("r")
            match = re.fullmatch(r"([A-Z]{1,3})([0-9]+)", ref or "")
            if ref is None:
                last_col += 1
                continue
            if match is None:
                problems.append(f"line {cell.sourceline}: c@r: invalid cell reference {ref!r}")
                continue
            col = _column_number(match.group(1))
            if int(match.group(2)) != number:
                problems.append(f"line {cell.sourceline}: c@r: cell {ref} in row {number}")
            if col <= last_col:
                problems.append(f"line {cell.sourceline}: c@r: cell {ref} after column "
                                f"{last_col} in row {number} (cells must be in increasing "
                                "column order, each once)")  # fmt: skip
            last_col = max(last_col, col)
    return problems


def without_line(message: str) -> str:
    """A message without its line number: the same violation before and after a sync."""
    return re.sub(r"^line \d+: ", "", message)


def workbook_parts(path: Path) -> dict[str, str]:
    """Every worksheet part of a .xlsx (kind ``worksheet``) and its styles.xml (``styles``),
    found through the workbook's relationships: part name -> kind."""
    with zipfile.ZipFile(path) as zf:
        rels = etree.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
    parts: dict[str, str] = {}
    for rel in rels.iter(f"{{{NS_PKG_REL}}}Relationship"):
        kind = {WORKSHEET_REL: "worksheet", STYLES_REL: "styles"}.get(rel.get("Type", ""))
        if kind is None:
            continue
        target = rel.get("Target", "")
        name = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
        parts[name] = kind
    return parts


def workbook_violations(path: Path) -> dict[str, list[str]]:
    """``violations`` of every worksheet part and styles.xml of the .xlsx at ``path``."""
    parts = workbook_parts(path)
    with zipfile.ZipFile(path) as zf:
        return {name: violations(zf.read(name), kind) for name, kind in sorted(parts.items())}
