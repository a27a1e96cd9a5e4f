"""The people and the helpers of the demo data: who works where in the five services, their
addresses, and one seeded random generator per data set (the demo is deterministic).
"""

from __future__ import annotations

import datetime as dt
import random
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from qep_sync.workspace.plan import (
    QUALITY_SERVICE,
)

Row = dict[str, Any]

SEED = "qep-sync-demo"
DOMAIN = "doubs.gouv.fr"
DAY = dt.timedelta(days=1)
ERROR, WARNING = "error", "warning"


def text_table(text: str) -> list[list[str]]:
    """The rows of a « a | b | c » text table, one row a line, cells stripped."""
    return [[cell.strip() for cell in line.split("|")] for line in text.strip().splitlines()]


# --- People ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    name: str

    @property
    def email(self) -> str:
        """prenom.nom@doubs.gouv.fr, accents dropped."""
        first, last = self.name.split(" ", 1)
        return f"{_address_part(first)}.{_address_part(last)}@{DOMAIN}"


def _address_part(text: str) -> str:
    plain = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return plain.lower().replace(" ", "-")


@dataclass(frozen=True)
class Staff:
    post: str  # the Poste of the service's agents in the training plan
    chef: Person
    correspondant: Person
    agents: tuple[Person, ...]  # the last one arrived this year

    @property
    def everyone(self) -> tuple[Person, ...]:
        return (self.chef, self.correspondant, *self.agents)


POSTS = {"BRCIE": "Accueil téléphonique", "BCEEP": "Autre", "BAS": "Accueil physique",
         "BRGE": "Accueil physique", "CERT": "Titres"}  # fmt: skip
# service | role | name (agents in order of arrival)
PEOPLE = text_table("""
    BRCIE | chef          | Hélène Vuillemin
    BRCIE | correspondant | Julien Mougin
    BRCIE | agent         | Sophie Girardot
    BRCIE | agent         | Nicolas Bourgeois
    BRCIE | agent         | Camille Pernin
    BCEEP | chef          | Olivier Jeanningros
    BCEEP | correspondant | Aurélie Cuenot
    BCEEP | agent         | Mathieu Roux
    BCEEP | agent         | Sandrine Petit
    BCEEP | agent         | Damien Morel
    BAS   | chef          | Karine Guyon
    BAS   | correspondant | Sébastien Bernard
    BAS   | agent         | Nathalie Dubois
    BAS   | agent         | Émilie Lefèvre
    BAS   | agent         | Thomas Girard
    BAS   | agent         | Marion Cattin
    BAS   | agent         | Yacine Benali
    BAS   | agent         | Inès Moreau
    BRGE  | chef          | Laurent Grosjean
    BRGE  | correspondant | Céline Boillot
    BRGE  | agent         | Vincent André
    BRGE  | agent         | Audrey Mercier
    BRGE  | agent         | Pierre Vernier
    CERT  | chef          | Frédéric Tissot
    CERT  | correspondant | Élodie Prêtre
    CERT  | agent         | Stéphane Blanc
    CERT  | agent         | Valérie Guérin
    CERT  | agent         | Cédric Monnier
    CERT  | agent         | Lucie Chopard
    CERT  | agent         | Jérôme Robert
""")  # fmt: skip


def _staff(code: str) -> Staff:
    def who(role: str) -> list[Person]:
        return [Person(name) for service, r, name in PEOPLE if service == code and r == role]

    return Staff(POSTS[code], who("chef")[0], who("correspondant")[0], tuple(who("agent")))


STAFF = {code: _staff(code) for code in POSTS}
REFERENT = Person("Claire Faivre")


def owner_of(code: str) -> Person:
    """Who answers for a service's items: its quality correspondent (the référent for QUALITE)."""
    return REFERENT if code == QUALITY_SERVICE.code else STAFF[code].correspondant


# --- Dates -----------------------------------------------------------------------------------


def seeded(name: str) -> random.Random:
    """One generator per data set, so that changing one does not reshuffle the others."""
    return random.Random(f"{SEED}:{name}")


def first_row(rows: list[Row], test: Callable[[Row], bool], start: int = 0) -> int:
    """Index of the first row from ``start`` that passes ``test`` (the demo always has one)."""
    for i in range(start, len(rows)):
        if test(rows[i]):
            return i
    raise LookupError("données de démonstration : aucune ligne ne convient")
