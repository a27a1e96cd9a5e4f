"""A large, realistic qep-sync workspace for benchmarks: N service workbooks and their config.

Each workbook ``services/S{i:02}.xlsx`` holds a « Délais » sheet of ``letters`` rows and the
other trackers (« Plan d'actions », « Documents », « Formations », « Indicateurs »,
« Autoévaluation ») of 100–300 rows each. Columns are the field titles of ``schemas/*.json``
and allowed values come from their enums, so the data follows the specs as they change.
Values look like what services type: real date cells mostly, a few dates as text, value
aliases and odd casing, percent-formatted cells, a title row above the header, and about 1 %
of rows with an anomaly (unreadable date, unknown value, bad email, duplicate key...).

Deterministic for a given seed. A stamp file records the parameters (and a hash of this
file and of the specs): ``generate`` reuses a workspace made with the same ones.

    .venv/bin/python bench/generate.py bench/out --services 30 --letters 5000
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import random
import sys
import time
import unicodedata
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import xlsxwriter

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = ROOT / "schemas"
CONFIG_NAME = "qep-sync.toml"
STAMP_NAME = ".bench-workspace.json"
# The day the data is generated around; the benchmark pins `today` to it.
REFERENCE_DAY = dt.date(2023, 6, 30)
FIRST_DAY = dt.date(2022, 7, 1)
ANOMALY_RATE = 0.01
TEXT_DATE_RATE = 0.03  # dates typed as text (« 12/09/2022 »): valid, parsed by qep-sync
SKIPPED_FIELDS = {"ne_pas_relancer_avant"}  # optional column most services do not have
TRACKER_SHEETS = ("courriers", "plan_actions", "documents", "formations", "indicateurs",
                  "autoevaluation")  # fmt: skip

SERVICE_NAMES = [
    "Bureau de la représentation et de la communication interministérielle",
    "Bureau de la coordination de l'environnement et des enquêtes publiques",
    "Bureau de l'admission au séjour",
    "Bureau de la réglementation générale et des élections",
    "Cellule performance",
    "Centre d'expertise de ressources et des titres",
    "Service interministériel départemental des systèmes d'information et de communication",
    "Pôle standard",
    "Pôle imprimerie et courrier",
    "Pôle accompagnement des agents",
    "Cellule d'appui au pilotage",
    "Bureau des usagers de la route",
    "Bureau des polices administratives",
    "Bureau de la sécurité intérieure",
    "Bureau des collectivités locales",
    "Bureau du contrôle de légalité",
    "Sous-préfecture de Montbéliard",
    "Sous-préfecture de Pontarlier",
    "Bureau de l'éloignement",
    "Bureau de la naturalisation",
]
FIRST_NAMES = [
    "Camille",
    "Nicolas",
    "Sophie",
    "Julien",
    "Émilie",
    "Thomas",
    "Aurélie",
    "Mathieu",
    "Céline",
    "François",
    "Hélène",
    "Jérôme",
    "Isabelle",
    "Sébastien",
    "Nathalie",
    "Stéphane",
    "Laëtitia",
    "Benoît",
    "Chloé",
    "Frédéric",
]
LAST_NAMES = [
    "Martin",
    "Bernard",
    "Petit",
    "Durand",
    "Leroy",
    "Moreau",
    "Girard",
    "Roux",
    "Faivre",
    "Bourgeois",
    "Jeannin",
    "Vuillemin",
    "Cuenot",
    "Mougin",
    "Grosjean",
    "Pernot",
    "Bouvard",
    "Chopard",
    "Lhomme",
    "Belin",
]
OBJECTS = [
    "Demande de titre de séjour",
    "Renouvellement de titre de séjour",
    "Suivi de dossier CNI",
    "Passeport : rendez-vous",
    "Permis de conduire : suivi de dossier",
    "Certificat d'immatriculation",
    "Demande d'information",
    "Réclamation sur l'accueil",
    "Délai de traitement",
    "Naturalisation",
    "Enquête publique",
    "Associations : déclaration",
    "Élections : inscription",
    "Armes : autorisation",
    "Médaille d'honneur",
    "Manifestation sportive",
    "Débit de boissons",
    "Suggestion d'amélioration",
]
ENGAGEMENTS = [
    "Nous vous informons sur les conditions de fonctionnement de nos services",
    "Un accueil attentif et courtois dans le respect mutuel quel que soit le canal",
    "A votre écoute pour progresser",
    "Nous formons nos agents pour améliorer notre qualité de service",
    "Nous vous orientons vers le bon service et vous prenons en charge",
    "Nous veillons au confort de nos espaces d'accueil et d'attente",
    "Nous veillons à limiter votre attente en adaptant notre organisation",
    "Un serveur vocal interactif local vous informe et vous met en relation avec un agent",
    "Nous vous informons du serveur vocal interactif national « 34 00 »",
    "Nous répondons à tous vos appels de manière attentive et efficace",
    "Nous facilitons votre navigation sur notre site internet",
    "Nous vous délivrons une information administrative numérique fiable",
    "Nous facilitons vos démarches en ligne",
    "Nous facilitons vos démarches en ligne sur les demandes de titres",
    "Nous mettons à votre disposition un point numérique sécurisé",
    "Nos courriers et courriels sont compréhensibles et complets",
    "Nous vous répondons dans un délai annoncé et maîtrisé",
    "Nous assurons la traçabilité de vos courriers et courriels",
    "Nous communiquons de manière active sur au moins un réseau social",
    "Nous vous garantissons la fiabilité des informations diffusées sur les réseaux sociaux",
    "Vous êtes contacté en cas d'incomplétude de votre dossier",
    "Nous nous organisons pour délivrer vos titres dans un délai raisonnable",
    "Une délivrance sécurisée des titres grâce à une lutte contre la fraude organisée",
]
MODULES = [
    "Module 1 : Relations générales avec les usagers",
    "Module 2 : Délivrance des CNI-passeports",
]
ACTIONS = [
    "Mettre à jour l'affichage des horaires",
    "Former les agents d'accueil à la courtoisie",
    "Réviser le courrier type de réponse",
    "Installer une signalétique dans le hall",
    "Publier les délais de traitement sur le site",
    "Organiser une enquête mystère",
    "Réduire le temps d'attente au standard",
    "Créer une FAQ sur les titres",
    "Améliorer le confort de la salle d'attente",
    "Tracer les courriels dans le logiciel",
]
DOCUMENTS = [
    "Accueil physique des usagers",
    "Réponse aux courriels",
    "Traitement des réclamations",
    "Accueil téléphonique",
    "Remise des titres",
    "Gestion des rendez-vous",
    "Affichage des horaires",
    "Charte Marianne",
    "Guide de l'agent d'accueil",
    "Suivi des délais de réponse",
]
TRAININGS = [
    "Accueil des publics",
    "Gestion des situations difficiles",
    "Qual-e-pref : les engagements",
    "Lutte contre la fraude documentaire",
    "Accueil téléphonique",
    "Langue des signes : initiation",
    "Management de la qualité",
]
INDICATORS = [  # (name, unit, percent, target, higher is better)
    ("Taux de décroché au standard", "%", True, 0.85, True),
    ("Taux de réponse aux courriels sous 5 jours", "%", True, 0.9, True),
    ("Taux de satisfaction des usagers", "%", True, 0.8, True),
    ("Temps d'attente moyen à l'accueil", "minutes", False, 20, False),
    ("Nombre de réclamations reçues", "nombre", False, 10, False),
    ("Délai moyen de délivrance des titres", "jours", False, 15, False),
]
ACCESS = [
    "Intranet",
    "Internet",
    "Affichage",
    "Présentoir",
    "Dossiers communs",
    "Intranet, affichage",
]
VERSIONS = ["v1", "v2", "v3", "1.0", "1.1", "2.0"]
# How often each allowed value comes up (values of the specs not named here: weight 1).
CANAL_WEIGHTS = {"Courrier": 40, "Courriel": 45, "Réclamation": 10, "Suggestion": 5}
ACTION_WEIGHTS = {"À faire": 30, "En cours": 40, "Fait": 25, "Abandonné": 5}
DOCUMENT_WEIGHTS = {"À rédiger": 10, "En rédaction": 15, "Validé": 65, "Archivé": 10}
LEVEL_WEIGHTS = {"Conforme": 55, "Partiellement conforme": 25, "Non conforme": 8,
                 "Non applicable": 7, "Non évalué": 5}  # fmt: skip
BAD_DATES = ["31/02/2023", "12/13/2022", "2023", "15/06", "30 fevrir 2023", "à voir", "32/01/2023"]


@dataclass(frozen=True)
class Column:
    """A user column of a tracker, as the generator needs it."""

    name: str
    title: str
    type: str
    format: str | None
    enum: tuple[str, ...]
    aliases: dict[str, tuple[str, ...]]  # allowed value -> other accepted spellings


@dataclass(frozen=True)
class Tracker:
    name: str
    sheet: str
    columns: tuple[Column, ...]


class Percent(float):
    """A number to write in a percent-formatted cell."""


def load_trackers() -> dict[str, Tracker]:
    """The trackers' columns and allowed values, read from the spec files of schemas/."""
    trackers = {}
    for name in TRACKER_SHEETS:
        raw = json.loads((SCHEMAS / f"{name}.json").read_text(encoding="utf-8"))
        columns = tuple(
            Column(
                name=f["name"],
                title=f["title"],
                type=f.get("type", "string"),
                format=f.get("format"),
                enum=tuple(f.get("constraints", {}).get("enum", ())),
                aliases={k: tuple(v) for k, v in f.get("valueAliases", {}).items()},
            )
            for f in raw["fields"]
            if f["name"] not in SKIPPED_FIELDS
        )
        trackers[name] = Tracker(name, raw["title"], columns)
    return trackers


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text)
    return "".join(c for c in folded if not unicodedata.combining(c)).lower().replace(" ", "")


class RowMaker:
    """Random but plausible values for one service's trackers."""

    def __init__(self, rng: random.Random, trackers: dict[str, Tracker], code: str) -> None:
        self.rng = rng
        self.trackers = trackers
        self.code = code
        self.people = [(rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)) for _ in range(12)]

    def choose(self, tracker: str, name: str, weights: dict[str, float] | None = None) -> str:
        """An allowed value of a field, from its spec; ``weights`` default to 1 per value."""
        column = self._column(tracker, name)
        odds = [(weights or {}).get(v, 1.0) for v in column.enum]
        return self.rng.choices(column.enum, weights=odds)[0]

    def spell(self, tracker: str, name: str, value: str) -> str:
        """An allowed value as people type it: now and then an alias of the spec or odd case."""
        spellings = self._column(tracker, name).aliases.get(value, ())
        roll = self.rng.random()
        if roll < 0.02 and spellings:
            return self.rng.choice(spellings)
        if roll < 0.04:
            return value.lower() + " "  # accepted: case and spaces are ignored
        return value

    def enum(self, tracker: str, name: str, weights: dict[str, float] | None = None) -> str:
        return self.spell(tracker, name, self.choose(tracker, name, weights))

    def _column(self, tracker: str, name: str) -> Column:
        return next(c for c in self.trackers[tracker].columns if c.name == name)

    def person(self) -> tuple[str, str]:
        first, last = self.rng.choice(self.people)
        return f"{first} {last}", f"{_ascii(first)}.{_ascii(last)}@doubs.gouv.fr"

    def day(self, start: dt.date = FIRST_DAY, end: dt.date = REFERENCE_DAY) -> dt.date:
        return start + dt.timedelta(days=self.rng.randrange((end - start).days + 1))

    def date_cell(self, day: dt.date | None) -> dt.date | str | None:
        """A date as services type it: a real date cell, now and then a text."""
        if day is not None and self.rng.random() < TEXT_DATE_RATE:
            return day.strftime(self.rng.choice(["%d/%m/%Y", "%d/%m/%y", "%Y-%m-%d"]))
        return day

    # One function per tracker: field name -> value for row i.

    def courriers(self, i: int) -> dict[str, Any]:
        received = self.day()
        pending = (REFERENCE_DAY - received).days
        answered = self.rng.random() < (0.4 if pending < 20 else 0.97)
        replied = received + dt.timedelta(days=self.rng.randint(0, 28)) if answered else None
        if replied and replied > REFERENCE_DAY:
            replied = REFERENCE_DAY
        agent, email = self.person()
        return {
            "numero": f"{self.code}-{received.year}-{i + 1:05}",
            "canal": self.enum("courriers", "canal", CANAL_WEIGHTS),
            "service": self.code,
            "date_reception": self.date_cell(received),
            "objet": self.rng.choice(OBJECTS),
            "date_reponse": self.date_cell(replied),
            "agent": agent,
            "email": email,
        }

    def plan_actions(self, i: int) -> dict[str, Any]:
        start = self.day(FIRST_DAY, REFERENCE_DAY - dt.timedelta(days=30))
        due = start + dt.timedelta(days=self.rng.randint(15, 240))
        state = self.choose("plan_actions", "etat", ACTION_WEIGHTS)
        done = state == "Fait" and self.rng.random() < 0.97
        progress: Any = Percent(1.0 if done else self.rng.choice([0, 0.1, 0.25, 0.5, 0.75]))
        if self.rng.random() < 0.1:
            progress = self.rng.choice([0, 25, 50, 75, 100])  # plain number: read as a percentage
        who, email = self.person()
        return {
            "numero": f"PA-{self.code}-{i + 1:03}",
            "engagement": self.rng.randint(1, 23),
            "origine": self.enum("plan_actions", "origine"),
            "action": self.rng.choice(ACTIONS),
            "service_pilote": self.code,
            "responsable": who,
            "email_responsable": email,
            "date_debut": self.date_cell(start),
            "echeance": self.date_cell(due),
            "avancement": progress,
            "etat": self.spell("plan_actions", "etat", state),
            "date_realisation": self.date_cell(min(due, REFERENCE_DAY)) if done else None,
            "commentaire": self.rng.choice([None, None, "Point en COPIL", "Reporté", "Voir note"]),
        }

    def documents(self, i: int) -> dict[str, Any]:
        state = self.choose("documents", "etat", DOCUMENT_WEIGHTS)
        validated = state == "Validé"
        who, email = self.person()
        updated = self.day(dt.date(2020, 1, 1), REFERENCE_DAY) if validated else None
        return {
            "reference": f"{self.code}-DOC-{i + 1:03}",
            "intitule": f"{self.rng.choice(DOCUMENTS)} ({i + 1})",
            "type": self.enum("documents", "type"),
            "service": self.code,
            "responsable": who,
            "email_responsable": email,
            "version": self.rng.choice(VERSIONS),
            "etat": self.spell("documents", "etat", state),
            "date_prevue": self.date_cell(self.day(dt.date(2023, 1, 1), dt.date(2023, 12, 31)))
            if not validated and self.rng.random() < 0.97
            else None,
            "date_mise_a_jour": self.date_cell(updated),
            "periodicite_revision": self.rng.choice([12, 24, 36]) if validated else None,
            "date_caducite": self.date_cell(self.day(REFERENCE_DAY, dt.date(2025, 12, 31)))
            if validated and self.rng.random() < 0.2
            else None,
            "accessibilite": self.rng.choice(ACCESS),
        }

    def formations(self, i: int) -> dict[str, Any]:
        arrival = self.day(dt.date(2021, 1, 1), REFERENCE_DAY)
        planned = (
            arrival + dt.timedelta(days=self.rng.randint(30, 180))
            if self.rng.random() < 0.7
            else None
        )
        done = planned if planned and planned < REFERENCE_DAY and self.rng.random() < 0.8 else None
        first, last = self.rng.choice(FIRST_NAMES), self.rng.choice(LAST_NAMES)
        return {
            "agent": f"{first} {last}",
            "service": self.code,
            "poste": self.enum("formations", "poste"),
            "date_arrivee": self.date_cell(arrival),
            "formation": self.rng.choice(TRAININGS),
            "date_prevue": self.date_cell(planned),
            "date_realisee": self.date_cell(done),
            "email": f"{_ascii(first)}.{_ascii(last)}@doubs.gouv.fr",
        }

    def indicateurs(self, i: int) -> dict[str, Any]:
        name, unit, percent, target, higher = INDICATORS[i % len(INDICATORS)]
        month_index = i // len(INDICATORS)
        month = dt.date(2021 + month_index // 12, month_index % 12 + 1, 1)
        if percent:
            value: Any = Percent(round(min(1.0, max(0.0, self.rng.gauss(target, 0.08))), 3))
            target_cell: Any = Percent(target)
        else:
            value = round(max(0.0, self.rng.gauss(target, target * 0.3)), 1)
            target_cell = target
        return {
            "indicateur": name,
            "service": self.code,
            "periode": month if self.rng.random() > 0.1 else month.strftime("%Y-%m"),
            "valeur": value,
            "cible": target_cell,
            "sens": "≥" if higher else "≤",
            "unite": unit,
            "source": self.enum("indicateurs", "source"),
        }

    def autoevaluation(self, i: int) -> dict[str, Any]:
        number = i % len(ENGAGEMENTS) + 1
        campaign = i // len(ENGAGEMENTS)  # one campaign every six months, most recent first
        evaluated = REFERENCE_DAY - dt.timedelta(days=182 * campaign + self.rng.randint(0, 20))
        who, _ = self.person()
        return {
            "module": MODULES[0] if number <= 20 else MODULES[1],
            "engagement": number,
            "intitule": ENGAGEMENTS[number - 1],
            "service": self.code,
            "niveau": self.enum("autoevaluation", "niveau", LEVEL_WEIGHTS),
            "preuves": self.rng.choice(
                [None, "Affichage", "Registre", "Capture du site", "Compte rendu"]
            ),
            "commentaire": self.rng.choice(
                [None, None, "À confirmer en COPIL", "Progrès depuis 2022"]
            ),
            "date_evaluation": self.date_cell(evaluated),
            "evaluateur": who,
        }

    def anomaly(
        self, tracker: Tracker, row: dict[str, Any], previous: dict[str, Any] | None
    ) -> None:
        """Damage one value of a row the way people do (docs/contract.md §2): qep-sync must report it."""
        damageable = [
            c
            for c in tracker.columns
            if c.type != "string"
            or c.enum
            or c.format == "email"
            or c.name in ("numero", "reference")
        ]
        column = self.rng.choice(damageable)
        if column.type in ("date", "month"):
            row[column.name] = self.rng.choice(BAD_DATES)
        elif column.enum:
            row[column.name] = self.rng.choice(["Inconnu", "?", "En attente", "Autre chose"])
        elif column.format == "email":
            row[column.name] = self.rng.choice(["camille.martin@doubs", "voir chef", "a@b"])
        elif column.type in ("integer", "number"):
            row[column.name] = self.rng.choice(["beaucoup", "12,5", "-3", "N/A"])
        elif previous is not None:
            row[column.name] = previous[column.name]  # duplicate key
        if tracker.name == "courriers" and self.rng.random() < 0.3:
            received = row["date_reception"]
            if isinstance(received, dt.date):  # reply dated before the reception
                row["date_reponse"] = received - dt.timedelta(days=self.rng.randint(1, 10))


def _rows(maker: RowMaker, tracker: Tracker, count: int) -> Iterator[dict[str, Any]]:
    make: Callable[[int], dict[str, Any]] = getattr(maker, tracker.name)
    previous = None
    for i in range(count):
        row = make(i)
        if maker.rng.random() < ANOMALY_RATE:
            maker.anomaly(tracker, row, previous)
        previous = row
        yield row


def write_workbook(path: Path, code: str, letters: int, seed: int) -> None:
    """One service's workbook, every tracker on its own sheet."""
    rng = random.Random(f"{seed}-{code}")
    trackers = load_trackers()
    maker = RowMaker(rng, trackers, code)
    book = xlsxwriter.Workbook(
        str(path),
        # Shared strings (not constant_memory's inline strings): that is what Excel writes.
        {
            "default_date_format": "dd/mm/yyyy",
            "strings_to_formulas": False,
            "strings_to_urls": False,
        },
    )
    # A fixed creation date: the same seed gives byte-identical files.
    book.set_properties({"created": dt.datetime(2023, 6, 30, 8, 0)})
    title_fmt = book.add_format({"bold": True, "font_size": 14})
    header_fmt = book.add_format(
        {"bold": True, "bg_color": "#DCE6F1", "text_wrap": True, "border": 1}
    )
    percent_fmt = book.add_format({"num_format": "0%"})
    try:
        for name in TRACKER_SHEETS:
            tracker = trackers[name]
            count = letters if name == "courriers" else rng.randint(100, 300)
            ws = book.add_worksheet(tracker.sheet)
            # A title row above the header, as trackers usually have.
            ws.write_string(0, 0, f"{tracker.sheet} — {code}", title_fmt)
            header = 2
            for col, column in enumerate(tracker.columns):
                ws.write_string(header, col, column.title, header_fmt)
                ws.set_column(col, col, 28 if column.type == "string" else 14)
            ws.freeze_panes(header + 1, 0)
            r = header + 1
            for row in _rows(maker, tracker, count):
                if rng.random() < 0.002:
                    r += 1  # an empty row in the middle
                for col, column in enumerate(tracker.columns):
                    value = row.get(column.name)
                    if value is None:
                        continue
                    if isinstance(value, Percent):
                        ws.write_number(r, col, value, percent_fmt)
                    else:
                        ws.write(r, col, value)
                r += 1
            if name == "courriers":
                ws.write_string(r, 0, "Total")  # a total row at the bottom, skipped by qep-sync
                ws.write_formula(r, 1, f"=COUNTA(B{header + 2}:B{r})", None, count)
    finally:
        book.close()


def _config_text(services: int) -> str:
    lines = ["# Benchmark workspace written by bench/generate.py: do not edit.", ""]
    for i in range(1, services + 1):
        code = f"S{i:02}"
        name = SERVICE_NAMES[(i - 1) % len(SERVICE_NAMES)]
        if i > len(SERVICE_NAMES):
            name = f"{name} ({i})"
        toml_name = json.dumps(name, ensure_ascii=False)  # a JSON string is a valid TOML string
        lines += [
            "[[sources]]",
            f'service = "{code}"',
            f"name = {toml_name}",
            f'xlsx = "services/{code}.xlsx"',
            "",
        ]
    return "\n".join(lines)


def _fingerprint() -> str:
    """Hash of this generator and of the specs: a change in either makes a new workspace."""
    digest = hashlib.sha256(Path(__file__).read_bytes())
    for name in TRACKER_SHEETS:
        digest.update((SCHEMAS / f"{name}.json").read_bytes())
    return digest.hexdigest()[:16]


def _write_one(args: tuple[Path, str, int, int]) -> None:
    write_workbook(*args)


def generate(directory: Path, services: int = 30, letters: int = 5000, seed: int = 1) -> Path:
    """Write (or reuse) a workspace in ``directory``; return the path of its config."""
    directory.mkdir(parents=True, exist_ok=True)
    config = directory / CONFIG_NAME
    stamp_path = directory / STAMP_NAME
    params = {"services": services, "letters": letters, "seed": seed, "generator": _fingerprint()}
    try:
        if json.loads(stamp_path.read_text(encoding="utf-8")) == params and config.is_file():
            return config
    except (OSError, ValueError):
        pass
    stamp_path.unlink(missing_ok=True)  # an interrupted generation is never reused
    folder = directory / "services"
    folder.mkdir(exist_ok=True)
    for old in folder.glob("*.xlsx"):
        old.unlink()
    jobs = [(folder / f"S{i:02}.xlsx", f"S{i:02}", letters, seed) for i in range(1, services + 1)]
    workers = min(len(jobs), os.cpu_count() or 1)
    if workers > 1:
        with ProcessPoolExecutor(workers) as pool:
            list(pool.map(_write_one, jobs))
    else:
        for job in jobs:
            _write_one(job)
    config.write_text(_config_text(services), encoding="utf-8")
    stamp_path.write_text(json.dumps(params), encoding="utf-8")
    return config


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path)
    parser.add_argument("--services", type=int, default=30)
    parser.add_argument("--letters", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    config = generate(args.directory, args.services, args.letters, args.seed)
    print(f"{config} ({time.perf_counter() - start:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
