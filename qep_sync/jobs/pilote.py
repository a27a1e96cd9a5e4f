"""The indicators of one month in the import format of PILOTE, the State's steering tool
(docs/contract.md §8): one CSV row per indicator of ``[pilote.indicateurs]`` and the zone.

The columns are those of PILOTE's Table Schema: ``identifiant_indic``, ``zone_id``,
``date_valeur`` (the last day of the month, as PILOTE dates a month's value), ``type_valeur``
and ``valeur`` (a number with a dot; a percentage 0–100, 92 % being 92). The indicator rows are
read through ``figures.read_figures``, like the consolidated view's Indicateurs sheet. Rules
(docs/commandes.md): the row of the whole prefecture (« Tous services ») when there is one,
else the value of the one service that reports it; several services and no such row, or
rows that disagree, give a warning and no row: rates are never summed nor averaged. An
indicator with no mapping is a warning, never a guessed identifier.
"""

from __future__ import annotations

import calendar
import csv
import datetime as dt
import io
import math
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from qep_sync.config import Config, Pilote, PiloteIndicator
from qep_sync.core.services import ALL_SERVICES
from qep_sync.errors import ConfigError, UsageError, WriteBackError
from qep_sync.files import NotReplaced, os_reason, replace_atomically, stamp
from qep_sync.jobs.check import Progress, run_check
from qep_sync.jobs.figures import Figures, read_figures
from qep_sync.text import MONTHS, fold, no_formula

FIELDS = ("identifiant_indic", "zone_id", "date_valeur", "type_valeur", "valeur")


def last_complete_month(today: dt.date) -> dt.date:
    """The first day of the last month that ended before ``today``."""
    first = today.replace(day=1)
    return (first - dt.timedelta(days=1)).replace(day=1)


def month_end(month: dt.date) -> dt.date:
    return month.replace(day=calendar.monthrange(month.year, month.month)[1])


def month_name(month: dt.date) -> str:
    """« octobre 2026 »."""
    return f"{MONTHS[month.month - 1]} {month.year}"


def pilote_number(value: float, percent: bool) -> Decimal | None:
    """A tracker's value as PILOTE reads it: a percentage 0–100 (0.92 read from « 92 % » is
    92), a plain number as it is; 15 significant digits, as Excel keeps them. None when the
    value is no finite number."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    number = Decimal(format(value, ".15g"))
    if percent:
        number *= 100
    return Decimal(0) if number.is_zero() else number.normalize()


def number_text(number: Decimal) -> str:
    """A number as a CSV cell: plain digits and a dot, a leading minus when negative, never
    an exponent (``-2.5``, ``92``, ``1000``, ``0.0001``)."""
    return format(number, "f")


def shown(number: Decimal) -> str:
    """A number as a French reader writes it (92,5), for the warnings."""
    return number_text(number).replace(".", ",")


@dataclass(frozen=True)
class PiloteRow:
    """One line of the export, and where its value comes from."""

    mapping: PiloteIndicator
    zone: str
    month: dt.date  # its first day
    value: Decimal
    indicator: str  # the name as the tracker writes it
    service: str  # the service code, or « Tous services »

    @property
    def date_valeur(self) -> dt.date:
        return month_end(self.month)

    @property
    def shown_value(self) -> str:
        """The value as a French reader writes it (92,5)."""
        return shown(self.value)

    def cells(self) -> list[str]:
        """The CSV cells: texts never read as formulas, the number written as a number."""
        texts = [self.mapping.identifiant, self.zone, self.date_valeur.isoformat(),
                 self.mapping.type_valeur]  # fmt: skip
        return [*(no_formula(t) for t in texts), number_text(self.value)]


@dataclass
class PiloteExport:
    """What ``export pilote`` did: the rows written, the warnings, the sources not read."""

    month: dt.date
    zone: str
    path: Path
    rows: list[PiloteRow] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    failed_sources: list[tuple[str, str]] = field(default_factory=list)  # (source, reason)

    @property
    def month_name(self) -> str:
        """« octobre 2026 »."""
        return month_name(self.month)

    @property
    def failed(self) -> bool:
        return bool(self.failed_sources)


@dataclass(frozen=True)
class _Reported:
    """One tracker row of the month for an indicator."""

    service: str
    value: Decimal | None  # None: empty or unreadable (listed by check)
    place: str  # « BAS.xlsx, onglet Indicateurs, ligne 5 »


def _reported(data: Figures, month: dt.date) -> tuple[dict[str, list[_Reported]], dict[str, str]]:
    """The month's rows by folded indicator name, and each name as first written."""
    found: dict[str, list[_Reported]] = {}
    names: dict[str, str] = {}
    for v in data.of("indicateurs"):
        measures = v.measures
        entries = zip(v.rows, v.services, v.field("indicateur"), v.field("periode"),
                      v.field("valeur"), strict=True)  # fmt: skip
        for row, service, name, period, value in entries:
            if name is None or period is None or period.replace(day=1) != month:
                continue  # another month, or an error of the sheet (listed by check)
            measure = measures.get((row, "valeur"))
            number = None
            if value is not None:
                number = pilote_number(value, bool(getattr(measure, "percent", False)))
            key = fold(name)
            names.setdefault(key, str(name).strip())
            place = f"{v.file}, onglet {v.sheet}, ligne {row}"
            found.setdefault(key, []).append(_Reported(service, number, place))
    return found, names


def _values_of(entries: list[_Reported], service: str) -> str:
    return " / ".join(
        shown(r.value) for r in entries if r.service == service and r.value is not None
    )


def pilote_rows(data: Figures, pilote: Pilote, month: dt.date) -> tuple[list[PiloteRow], list[str]]:
    """The rows of ``month`` for each mapped indicator, and the warnings (French)."""
    reported, names = _reported(data, month)
    when = month_name(month)
    rows: list[PiloteRow] = []
    warnings: list[str] = []
    for mapping in pilote.indicators:
        label = f"« {mapping.name} » ({mapping.identifiant})"
        entries = reported.get(fold(mapping.name), [])
        valued = [r for r in entries if r.value is not None]
        if not valued:
            if entries:
                places = " ; ".join(r.place for r in entries)
                warnings.append(f"{label} : valeur vide ou illisible pour {when} ({places}) : "
                                "pas de ligne exportée ; corrigez la cellule Valeur")  # fmt: skip
            else:
                warnings.append(f"{label} : aucune valeur pour {when} dans les tableaux : pas de "
                                "ligne exportée")  # fmt: skip
            continue
        whole = [r for r in valued if r.service == ALL_SERVICES]
        chosen = whole or valued
        services = list(dict.fromkeys(r.service for r in chosen))
        if len(services) > 1:
            each = ", ".join(f"{s} : {_values_of(chosen, s)}" for s in services)
            warnings.append(
                f"{label} : valeurs de plusieurs services pour {when} ({each}) et aucune ligne "
                f"« {ALL_SERVICES} » : pas de ligne exportée (qep-sync n'additionne ni ne fait la "
                f"moyenne de taux) ; ajoutez une ligne « {ALL_SERVICES} » avec la valeur de la "
                "préfecture"
            )
            continue
        values = list(dict.fromkeys(r.value for r in chosen if r.value is not None))
        if len(values) > 1:
            places = " ; ".join(
                f"{r.place} : {shown(r.value)}" for r in chosen if r.value is not None
            )
            warnings.append(f"{label} : plusieurs valeurs différentes pour {when} ({places}) : pas "
                            "de ligne exportée ; n'en gardez qu'une")  # fmt: skip
            continue
        name = names[fold(mapping.name)]
        rows.append(PiloteRow(mapping, pilote.zone, month, values[0], name, services[0]))
    mapped = {fold(m.name) for m in pilote.indicators}
    for key, name in names.items():
        if key not in mapped:
            warnings.append(
                f"« {name} » : indicateur sans correspondance dans [pilote.indicateurs] : pas "
                "exporté"
            )
    return rows, warnings


def csv_text(rows: list[PiloteRow]) -> str:
    """The export as CSV: UTF-8, comma, one header line, CRLF line ends (RFC 4180)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(FIELDS)
    for row in rows:
        writer.writerow(row.cells())
    return out.getvalue()


def default_output(config: Config, zone: str, month: dt.date) -> Path:
    """``pilote-D25-2026-10.csv`` in the workspace folder (the config's)."""
    folder = config.path.resolve().parent if config.path is not None else Path.cwd()
    return folder / f"pilote-{zone}-{month:%Y-%m}.csv"


def check_output(path: Path) -> None:
    """UsageError (exit 2) for an output that cannot be the export: not a .csv (a workbook
    or the config would be destroyed), or in a folder that is a file. Checked before reading."""
    if path.suffix.lower() != ".csv":
        raise UsageError(f"{path.name} : fichier .csv attendu pour l'export PILOTE (--output)")
    folder = path.parent
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"écriture impossible de {path} : {folder} n'est pas un dossier")


def write_export(path: Path, text: str) -> None:
    """Replace ``path`` atomically (temporary file, then rename): never half-written; a file
    someone holds open in a spreadsheet is left alone. WriteBackError (exit 1) in French when
    it could not be written: nothing is."""
    check_output(path)
    try:
        replace_atomically(path, lambda tmp: tmp.write_bytes(text.encode("utf-8")),
                           check=True, expected=stamp(path))  # fmt: skip
    except NotReplaced as exc:
        raise WriteBackError(
            f"{path} laissé tel quel : {exc.reason} ; fermez-le et relancez"
        ) from None
    except OSError as exc:
        raise WriteBackError(
            f"écriture impossible de {path} ({os_reason(exc)}) : rien n'a été écrit ; choisissez "
            "un autre fichier avec --output ou vérifiez les droits du dossier"
        ) from None


def run_pilote_export(
    config: Config,
    today: dt.date,
    month: dt.date | None = None,
    output: Path | None = None,
    progress: Progress | None = None,
) -> PiloteExport:
    """Read every source, pick the month's value of each mapped indicator, write the CSV."""
    pilote = config.pilote
    if pilote is None:
        raise ConfigError(
            'aucune section [pilote] dans la configuration : indiquez la zone (zone = "D25" '
            "pour le Doubs) et les indicateurs à exporter (voir docs/configuration.md, section "
            "[pilote])",
            "pilote",
        )
    month = (month or last_complete_month(today)).replace(day=1)
    if month > today.replace(day=1):
        raise UsageError(
            f"le mois {month:%Y-%m} n'a pas commencé (date du jour : {today:%d/%m/%Y})"
        )
    path = output if output is not None else default_output(config, pilote.zone, month)
    check_output(path)
    check = run_check(config, today, progress=progress)
    rows, warnings = pilote_rows(read_figures(check, today), pilote, month)
    result = PiloteExport(month, pilote.zone, path, rows, warnings)
    if month == today.replace(day=1):
        result.warnings.insert(0, f"{month_name(month)} n'est pas terminé : ses valeurs peuvent "
                               "encore changer")  # fmt: skip
    result.failed_sources = [(s.source, s.error) for s in check.report.sources if s.error]
    write_export(path, csv_text(rows))
    return result
