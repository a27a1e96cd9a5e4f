"""Tracker specs: the JSON files of schemas/ (Table Schema vocabulary) and their pandera schemas.

A quality lead adds an allowed value (``constraints.enum``), a value spelling
(``valueAliases``) or a header alias (``aliases``) by editing a file; no code changes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd
import pandera.pandas as pa

from qep_sync.errors import SpecError
from qep_sync.resources import data_dir
from qep_sync.text import fold, is_email
from qep_sync.vocabulary import CONTROL_TITLE, TRACKERS

TYPES = {"string", "integer", "number", "date", "month", "boolean"}
FORMATS = {None, "default", "email", "percent", "measure"}


@dataclass(frozen=True)
class Field:
    """A user column of a tracker."""

    name: str
    title: str
    type: str
    format: str | None = None
    required: bool = False
    unique: bool = False
    enum: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    pattern: str | None = None
    aliases: tuple[str, ...] = ()
    value_aliases: dict[str, str] = field(default_factory=dict)

    @cached_property
    def _canonical(self) -> dict[str, str]:
        table = {fold(v): v for v in self.enum}
        table.update(self.value_aliases)
        return table

    @cached_property
    def _seen(self) -> dict[str, str | None]:
        return {}

    def canonical(self, text: str) -> str | None:
        """The allowed spelling of a value (case, accents and spaces ignored), or None."""
        try:
            return self._seen[text]  # a column holds few distinct spellings
        except KeyError:
            found = self._seen[text] = self._canonical.get(fold(text))
            return found


@dataclass(frozen=True)
class Computed:
    """A column qep-sync owns and fills (docs/contract.md §3)."""

    name: str
    title: str
    type: str


@dataclass(frozen=True)
class TrackerSpec:
    """One kind of table: its columns, how to recognise it, what qep-sync computes in it."""

    name: str
    title: str
    description: str
    sheet_titles: tuple[str, ...]
    fields: tuple[Field, ...]
    computed: tuple[Computed, ...]
    key: tuple[str, ...] = ()

    @cached_property
    def by_name(self) -> dict[str, Field]:
        return {f.name: f for f in self.fields}

    @cached_property
    def header_index(self) -> dict[str, str]:
        """Folded header text or alias -> field name."""
        index: dict[str, str] = {}
        for f in self.fields:
            for text in (f.title, *f.aliases):
                index.setdefault(fold(text), f.name)
        return index

    @cached_property
    def owned_index(self) -> dict[str, str]:
        """Folded header of an owned column -> computed name (``controle`` for Contrôle)."""
        index = {fold(c.title): c.name for c in self.computed}
        index[fold(CONTROL_TITLE)] = "controle"
        return index

    @property
    def owned_titles(self) -> list[str]:
        return [c.title for c in self.computed] + [CONTROL_TITLE]

    @property
    def required(self) -> list[Field]:
        return [f for f in self.fields if f.required]

    def matches_title(self, sheet_title: str) -> bool:
        folded = fold(sheet_title)
        return any(folded == fold(t) or folded.startswith(fold(t) + " ") for t in self.sheet_titles)

    @cached_property
    def schema(self) -> pa.DataFrameSchema:
        return build_schema(self)


def _in_enum(allowed: tuple[str, ...]) -> pa.Check:
    values = set(allowed)
    return pa.Check(lambda s: s.isin(values), name="enum", ignore_na=True)


def _bound(name: str, limit: float) -> pa.Check:
    def test(s: pd.Series) -> pd.Series:
        numbers = pd.to_numeric(s, errors="coerce")
        return numbers >= limit if name == "minimum" else numbers <= limit

    return pa.Check(test, name=name, ignore_na=True)


def _each_value(test: Callable[[str], bool]) -> Callable[[pd.Series], pd.Series]:
    """A vectorised check of each value's text, run once per distinct value: a column repeats
    its values (the same few addresses on thousands of rows), and its values are of one type
    (the field's), so equal values are the same value."""

    def check(s: pd.Series) -> pd.Series:
        verdicts = {v: test(str(v)) for v in s.unique()}
        return s.map(verdicts)

    return check


def _full_match(regex: re.Pattern[str]) -> Callable[[str], bool]:
    return lambda text: bool(regex.fullmatch(text))


def build_schema(spec: TrackerSpec) -> pa.DataFrameSchema:
    """The pandera schema of a tracker, over a frame of already-typed values (object columns)."""
    columns: dict[str, pa.Column] = {}
    for f in spec.fields:
        checks: list[pa.Check] = []
        if f.enum:
            checks.append(_in_enum(f.enum))
        if f.minimum is not None:
            checks.append(_bound("minimum", f.minimum))
        if f.maximum is not None:
            checks.append(_bound("maximum", f.maximum))
        if f.pattern:
            matches = _each_value(_full_match(re.compile(f.pattern)))
            checks.append(pa.Check(matches, name="pattern", ignore_na=True))
        if f.format == "email":
            checks.append(pa.Check(_each_value(is_email), name="email", ignore_na=True))
        columns[f.name] = pa.Column(
            None,
            checks=checks,
            nullable=not f.required,
            unique=f.unique,
            report_duplicates="exclude_first",
            required=False,
        )
    return pa.DataFrameSchema(columns, name=spec.name, strict=False)


def _field(tracker: str, raw: dict[str, Any]) -> Field:
    where = f"{tracker}.json, champ « {raw.get('name', '?')} »"
    unknown = set(raw) - {
        "name",
        "title",
        "type",
        "format",
        "constraints",
        "aliases",
        "valueAliases",
        "description",
        "example",
    }
    if unknown:
        raise SpecError(f"{where} : clé inconnue {', '.join(sorted(unknown))}")
    if not isinstance(raw.get("name"), str) or not isinstance(raw.get("title"), str):
        raise SpecError(f"{where} : « name » et « title » sont obligatoires")
    if raw.get("type", "string") not in TYPES:
        raise SpecError(
            f"{where} : type « {raw.get('type')} » inconnu ({', '.join(sorted(TYPES))})"
        )
    if raw.get("format") not in FORMATS:
        raise SpecError(f"{where} : format « {raw.get('format')} » inconnu")
    c = raw.get("constraints", {})
    unknown = set(c) - {"required", "unique", "enum", "minimum", "maximum", "pattern"}
    if unknown:
        raise SpecError(f"{where} : contrainte inconnue {', '.join(sorted(unknown))}")
    enum = tuple(c.get("enum", ()))
    value_aliases: dict[str, str] = {}
    for canonical, spellings in raw.get("valueAliases", {}).items():
        if canonical not in enum:
            raise SpecError(f"{where} : valueAliases cite « {canonical} », absente de enum")
        for spelling in spellings:
            value_aliases[fold(spelling)] = canonical
    if c.get("pattern") is not None:
        try:
            re.compile(c["pattern"])
        except re.error as exc:
            raise SpecError(f"{where} : motif (pattern) invalide : {exc}") from None
    return Field(
        name=raw["name"],
        title=raw["title"],
        type=raw.get("type", "string"),
        format=raw.get("format"),
        required=bool(c.get("required", False)),
        unique=bool(c.get("unique", False)),
        enum=enum,
        minimum=c.get("minimum"),
        maximum=c.get("maximum"),
        pattern=c.get("pattern"),
        aliases=tuple(raw.get("aliases", ())),
        value_aliases=value_aliases,
    )


# The json module speaks English; these are the mistakes people make by hand, said in French.
_JSON_REASONS = (
    ("Expecting value", "valeur attendue (un texte entre guillemets droits \"…\", un nombre, "
     "true, false, une liste […] ou un objet {…})"),
    ("Expecting property name enclosed in double quotes",
     "nom de clé attendu, entre guillemets droits (\"name\")"),
    ("Expecting ',' delimiter", "virgule manquante entre deux éléments"),
    ("Expecting ':' delimiter", "deux-points « : » manquant après le nom de la clé"),
    ("Extra data", "texte en trop après la fin du fichier (une accolade « } » de trop ?)"),
    ("Unterminated string starting at", "texte non fermé : guillemet droit \" manquant"),
    ("Invalid control character at",
     "caractère invisible dans un texte (tabulation, retour à la ligne) : retirez-le"),
    ("Invalid \\escape", "barre oblique inverse \\ dans un texte : doublez-la (\\\\)"),
    ("Invalid \\uXXXX escape", "code \\u mal écrit dans un texte (quatre chiffres attendus)"),
    ("Illegal trailing comma before end of", "virgule en trop avant la fin de la liste ou de l'objet"),
)  # fmt: skip


def json_reason(exc: json.JSONDecodeError) -> str:
    """Why a spec file is no JSON, in French: the most common mistake first (a comma left
    after the last item, as a person editing a list by hand leaves one)."""
    before = exc.doc[: exc.pos].rstrip()
    if before.endswith(",") and exc.doc[exc.pos : exc.pos + 1] in ("]", "}"):
        closing = exc.doc[exc.pos]
        return f"virgule en trop avant « {closing} » : retirez la virgule après le dernier élément"
    for english, french in _JSON_REASONS:
        if exc.msg.startswith(english):
            return french
    return f"syntaxe incorrecte (détail technique : {exc.msg})"


def load_spec(path: Path) -> TrackerSpec:
    """Read and check one spec file."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"{path.name} : lecture impossible ({exc})") from None
    except json.JSONDecodeError as exc:
        raise SpecError(
            f"{path.name} : JSON invalide ligne {exc.lineno}, colonne {exc.colno} : {json_reason(exc)}"
        ) from None
    name = raw.get("name", path.stem)
    fields = tuple(_field(name, f) for f in raw.get("fields", []))
    names = [f.name for f in fields]
    if len(set(names)) != len(names):
        raise SpecError(f"{path.name} : deux champs portent le même nom")
    computed = tuple(
        Computed(c["name"], c["title"], c.get("type", "string")) for c in raw.get("computed", [])
    )
    key = raw.get("key", ())
    spec = TrackerSpec(
        name=name,
        title=raw.get("title", name),
        description=raw.get("description", ""),
        sheet_titles=tuple(raw.get("sheetTitles", [raw.get("title", name)])),
        fields=fields,
        computed=computed,
        key=(key,) if isinstance(key, str) else tuple(key),
    )
    for k in spec.key:
        if k not in spec.by_name:
            raise SpecError(f"{path.name} : la clé « {k} » n'est pas un champ")
    clash = set(spec.header_index) & set(spec.owned_index)
    if clash:
        raise SpecError(f"{path.name} : en-tête à la fois saisi et calculé : {', '.join(clash)}")
    return spec


def load_specs(
    directory: Path | None = None, names: Iterable[str] = TRACKERS
) -> dict[str, TrackerSpec]:
    """The specs of every tracker, from ``directory`` (default: the shipped schemas/)."""
    folder = directory or data_dir("schemas")
    specs: dict[str, TrackerSpec] = {}
    for name in names:
        path = folder / f"{name}.json"
        if not path.is_file():
            raise SpecError(f"fichier de description « {name}.json » absent de {folder}")
        specs[name] = load_spec(path)
    return specs
