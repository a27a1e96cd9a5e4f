"""Word-processing documents (.docx, python-docx) and tables workbooks (.xlsx) of the quality
lead's deliverables: the bilan annuel and the audit pack (docs/contract.md §8).

The documents lay out ``ViewTable``s computed elsewhere (``yearly``, ``audit``): real Word
tables, headings the table of contents picks up (a TOC field that Word and LibreOffice
refresh), French number and date formats. Every file is written beside its place and
renamed into it (``files.replace_atomically``): never half-written.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

from qep_sync import files
from qep_sync.jobs.view import Delta, DeltaPercentage, Link, Percentage, ViewTable

TOC_HINT = ("Sommaire : clic droit puis « Mettre à jour le champ » (Word), ou Outils > Mettre à "
            "jour > Tout (LibreOffice), pour les numéros de page.")  # fmt: skip
_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_XML = "{http://www.w3.org/XML/1998/namespace}"


def shown(value: Any, kind: str = "text") -> str:
    """A value as French text: « 87 % », « 3,5 », « 02/12/2026 »."""
    if value is None:
        return ""
    if isinstance(value, Link):
        return value.text
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, dt.datetime):
        return f"{value:%d/%m/%Y %H:%M}"
    if isinstance(value, dt.date):
        return f"{value:%m/%Y}" if kind == "month" else f"{value:%d/%m/%Y}"
    if isinstance(value, DeltaPercentage):
        return f"{value * 100:+.0f} pt".replace("-", "−")
    if isinstance(value, float) and (kind == "percent" or isinstance(value, Percentage)):
        return f"{value:.0%}".replace("%", " %")
    if isinstance(value, Delta):
        return f"{value:+.0f}".replace("-", "−")
    if isinstance(value, float):
        text = f"{value:.0f}" if value == int(value) else f"{value:.1f}"
        return text.replace(".", ",")
    return str(value)


class Document:
    """A French .docx being built: title page, table of contents, sections, tables, images."""

    def __init__(self, title: str, subtitle: str, lines: list[str], toc_levels: int = 2,
                 landscape: bool = False) -> None:  # fmt: skip
        import docx  # python-docx: only when a document is written
        from docx.enum.section import WD_ORIENT
        from docx.enum.text import WD_ALIGN_PARAGRAPH
        from docx.shared import Cm, Pt

        self._docx = docx
        self.doc = docx.Document()
        self._headings: list[tuple[int, str]] = []  # for the table of contents' first text
        self.toc_levels = toc_levels
        section = self.doc.sections[0]
        width, height = (29.7, 21.0) if landscape else (21.0, 29.7)  # A4
        section.page_width, section.page_height = Cm(width), Cm(height)
        if landscape:
            section.orientation = WD_ORIENT.LANDSCAPE
        self.text_width = width - 4.0  # two 2-cm margins
        for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
            setattr(section, side, Cm(2))
        style = self.doc.styles["Normal"]
        style.font.name = "Liberation Sans"
        style.font.size = Pt(10)
        self.doc.core_properties.title = title
        self.doc.core_properties.author = "qep-sync"
        self.doc.core_properties.language = "fr-FR"
        for _ in range(6):
            self.doc.add_paragraph()
        heading = self.doc.add_paragraph(style="Title")
        heading.add_run(title)
        heading.alignment = WD_ALIGN_PARAGRAPH.CENTER
        sub = self.doc.add_paragraph(subtitle, style="Subtitle")
        sub.alignment = WD_ALIGN_PARAGRAPH.CENTER
        for line in lines:
            p = self.doc.add_paragraph(line)
            p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        self._footer_page_numbers()
        self.doc.add_page_break()
        self.doc.add_heading("Sommaire", level=1)
        self._toc()
        self.doc.add_page_break()

    def _field(self, paragraph: Any, code: str, placeholder: str) -> None:
        """A complex field (TOC, PAGE…): Word and LibreOffice compute it when they refresh."""
        from docx.oxml import OxmlElement
        from docx.oxml.ns import qn

        def char(kind: str) -> Any:
            run = OxmlElement("w:r")
            fld = OxmlElement("w:fldChar")
            fld.set(qn("w:fldCharType"), kind)
            run.append(fld)
            return run

        instr = OxmlElement("w:r")
        text = OxmlElement("w:instrText")
        text.set(qn("xml:space"), "preserve")
        text.text = f" {code} "
        instr.append(text)
        shown_run = OxmlElement("w:r")
        shown_text = OxmlElement("w:t")
        shown_text.text = placeholder
        shown_run.append(shown_text)
        for element in (char("begin"), instr, char("separate"), shown_run, char("end")):
            paragraph._p.append(element)

    def _toc(self) -> None:
        self._toc_paragraph = self.doc.add_paragraph()
        code = f'TOC \\o "1-{self.toc_levels}" \\h \\z \\u'
        self._field(self._toc_paragraph, code, TOC_HINT)
        # Word asks to refresh the fields (the table of contents) when it opens the file.
        from docx.oxml import OxmlElement
        from docx.oxml.ns import qn

        update = OxmlElement("w:updateFields")
        update.set(qn("w:val"), "true")
        self.doc.settings.element.append(update)

    def _footer_page_numbers(self) -> None:
        from docx.enum.text import WD_ALIGN_PARAGRAPH

        footer = self.doc.sections[0].footer.paragraphs[0]
        footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
        footer.add_run("Page ")
        self._field(footer, "PAGE", "1")
        footer.add_run(" / ")
        self._field(footer, "NUMPAGES", "1")

    def heading(self, text: str, level: int = 1) -> None:
        self.doc.add_heading(text, level=level)
        self._headings.append((level, text))

    def _fill_toc(self) -> None:
        """The table of contents' text until a refresh: the headings, one per line."""
        from docx.oxml import OxmlElement

        texts = self._toc_paragraph._p.findall(f".//{_W}t")
        run = texts[-1].getparent()
        run.remove(texts[-1])
        shown = [(lv, text) for lv, text in self._headings if lv <= self.toc_levels]
        for i, (level, text) in enumerate(shown or [(1, TOC_HINT)]):
            if i:
                run.append(OxmlElement("w:br"))
            t = OxmlElement("w:t")
            t.text = "    " * (level - 1) + text
            t.set(f"{_XML}space", "preserve")
            run.append(t)

    def paragraph(self, text: str, *, italic: bool = False, bold: bool = False) -> None:
        run = self.doc.add_paragraph().add_run(text)
        run.italic, run.bold = italic, bold

    def page_break(self) -> None:
        self.doc.add_page_break()

    def bullet(self, text: str) -> None:
        self.doc.add_paragraph(text, style="List Bullet")

    def image(self, png: bytes, width_cm: float = 16) -> None:
        from docx.shared import Cm

        self.doc.add_picture(io.BytesIO(png), width=Cm(width_cm))

    def table(self, table: ViewTable, *, note: bool = True) -> None:
        """A real Word table: header row repeated on each page, the total row in bold."""
        from docx.oxml import OxmlElement
        from docx.oxml.ns import qn
        from docx.shared import Cm, Pt

        if note and table.note:
            self.paragraph(table.note, italic=True)
        rows = [*table.rows, *([table.total] if table.total else [])]
        grid = self.doc.add_table(rows=1 + len(rows), cols=len(table.columns))
        grid.style = "Table Grid"
        grid.autofit = False
        sizes = [Cm(cm) for cm in _column_widths(table, self.text_width)]
        for column, size in zip(grid.columns, sizes, strict=True):
            column.width = size  # the grid: what LibreOffice reads
        for row in grid.rows:
            for cell, size in zip(row.cells, sizes, strict=True):
                cell.width = size  # each cell: what Word reads
        header = grid.rows[0]
        flag = OxmlElement("w:tblHeader")  # repeated at the top of each page
        flag.set(qn("w:val"), "true")
        header._tr.get_or_add_trPr().append(flag)
        for cell, column in zip(header.cells, table.columns, strict=True):
            cell.text = ""
            run = cell.paragraphs[0].add_run(column.title)
            run.bold = True
            run.font.size = Pt(8)
            shade = OxmlElement("w:shd")
            shade.set(qn("w:val"), "clear")
            shade.set(qn("w:fill"), "DDEBF7")
            cell._tc.get_or_add_tcPr().append(shade)
        for i, values in enumerate(rows, start=1):
            bold = table.total is not None and i == len(rows)
            for cell, column, value in zip(grid.rows[i].cells, table.columns, values,
                                           strict=False):  # fmt: skip
                run = cell.paragraphs[0].add_run(shown(value, column.kind))
                run.font.size = Pt(8)
                run.bold = bold
        self.doc.add_paragraph()

    def save(self, path: Path) -> None:
        self._fill_toc()
        write_atomically(path, lambda tmp: self.doc.save(str(tmp)))


MIN_CM = {"int": 1.1, "number": 1.3, "percent": 1.3, "date": 2.0, "month": 1.7}
CM_PER_CHAR = 0.17  # 8-point bold header text
NUMERIC = ("int", "number", "percent", "date", "month", "datetime")


def _column_widths(table: ViewTable, text_width: float) -> list[float]:
    """Column widths in cm filling the text width: numbers and dates as wide as they and
    their header's longest word need; text columns share the rest by their widths."""
    floors = [max(MIN_CM.get(c.kind, 1.5),
                  CM_PER_CHAR * max((len(w) for w in c.title.split()), default=4) + 0.4)
              for c in table.columns]  # fmt: skip
    weights = [0.0 if c.kind in NUMERIC else float(c.width or 10) for c in table.columns]
    spare = max(text_width - sum(floors), 0)
    total = sum(weights) or 1.0
    return [floor + spare * w / total for floor, w in zip(floors, weights, strict=True)]


def write_atomically(path: Path, write: Callable[[Path], None]) -> None:
    """Write ``path`` through a temporary file renamed into place; OSError when it cannot."""
    path.parent.mkdir(parents=True, exist_ok=True)
    files.replace_atomically(path, write)


def write_tables(tables: list[ViewTable], path: Path) -> None:
    """A workbook with one sheet per table."""
    write_sections([(t.title, [t]) for t in tables], path)


def write_sections(
    sheets: list[tuple[str, list[ViewTable]]], path: Path, headings: dict[str, str] | None = None
) -> None:
    """A workbook of sheets, each holding its tables one under the other (title, note,
    header, rows, total); numbers, dates and links typed, texts never formulas."""
    import openpyxl
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    book = openpyxl.Workbook()
    book.remove(book.worksheets[0])
    used: set[str] = set()
    for title, tables in sheets:
        ws = book.create_sheet(_sheet_title(title, used))
        r = 1
        if headings and title in headings:
            ws.cell(r, 1, headings[title]).font = Font(bold=True, size=14)
            r += 2
        widths: dict[int, float] = {}
        for table in tables:
            ws.cell(r, 1, table.heading).font = Font(bold=True, size=12)
            ws.cell(r + 1, 1, table.note).font = Font(italic=True, color="595959")
            r += 2
            for j, column in enumerate(table.columns, start=1):
                cell = ws.cell(r, j, column.title)
                cell.font = Font(bold=True)
                cell.fill = PatternFill("solid", fgColor="DDEBF7")
                cell.alignment = Alignment(wrap_text=True, vertical="center")
                longest = max((len(w) for w in column.title.split()), default=8)
                widths[j] = max(widths.get(j, 0), column.width or 12, longest + 2)
            rows = [*table.rows, *([table.total] if table.total else [])]
            if not rows:
                ws.cell(r + 1, 1, "Aucun élément").font = Font(italic=True)
                r += 1
            for i, values in enumerate(rows, start=r + 1):
                for j, (column, value) in enumerate(zip(table.columns, values, strict=False), 1):
                    _put(ws.cell(i, j), value, column.kind)
                    if table.total is not None and i == r + len(rows):
                        ws.cell(i, j).font = Font(bold=True)
            r += len(rows) + 2
        for j, width in widths.items():
            ws.column_dimensions[get_column_letter(j)].width = min(width, 60)
        if len(tables) == 1 and not headings:
            ws.freeze_panes = "A4"
            ws.print_title_rows = "3:3"
        ws.page_setup.paperSize = "9"
        ws.page_setup.orientation = "landscape"
        ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        ws.oddFooter.center.text = "Page &P / &N"
    write_atomically(path, lambda tmp: book.save(tmp))


def _sheet_title(title: str, used: set[str]) -> str:
    base = "".join(c for c in title if c not in "[]:*?/\\")[:31] or "Tableau"
    name, n = base, 2
    while name.lower() in used:
        name = f"{base[:28]} {n}"
        n += 1
    used.add(name.lower())
    return name


def _put(cell: Any, value: Any, kind: str) -> None:
    """A typed cell: numbers, dates and percentages as such, texts never as formulas."""
    if isinstance(value, Link):
        cell.value = value.text
        if value.target:
            cell.hyperlink = value.target
            cell.style = "Hyperlink"
        return
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"  # « =1+1 » typed by a person stays text
    elif isinstance(value, DeltaPercentage):
        cell.number_format = '+0" pt";-0" pt";0" pt"'
        cell.value = float(value) * 100
    elif isinstance(value, float) and (kind == "percent" or isinstance(value, Percentage)):
        cell.number_format = "0 %"
    elif isinstance(value, dt.datetime):
        cell.number_format = "DD/MM/YYYY HH:MM"
    elif isinstance(value, dt.date):
        cell.number_format = "MM/YYYY" if kind == "month" else "DD/MM/YYYY"
