"""Demo data for ``qep-sync init --demo``: five services of the Doubs prefecture and the quality
mission over the year that ends on ``today``, with a dozen anomalies planted on purpose.

Everything is deterministic (seeded ``random.Random``, dates counted from ``today``), so the
demo is always current and a test can compare ``check``'s findings with ``planted_anomalies``.
The data also has what real sheets have and ``check`` must accept silently: title rows above the
header, header aliases and line breaks, a user column of its own, an empty row, a total row,
dates typed as French text, « 50 % » typed as text, lower-case and alias values.
"""

from __future__ import annotations

import datetime as dt
import random
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from qep_sync.config import DEFAULT_DELAIS
from qep_sync.core.specs import TrackerSpec, load_specs
from qep_sync.text import MONTH_ABBREVIATIONS, french_date
from qep_sync.workdays import WorkingCalendar, add_months
from qep_sync.workspace.create import (
    CENTRAL_BOOKS,
    ENGAGEMENTS,
    MODULES,
    QUALITY_SERVICE,
    SERVICES,
    Formula,
    Percent,
    Planted,
    SheetPlan,
    WorkbookPlan,
    WorkspacePlan,
    central_name,
    central_path,
    service_path,
    spec_columns,
)

Row = dict[str, Any]

SEED = "qep-sync-demo"
DOMAIN = "doubs.gouv.fr"
DAY = dt.timedelta(days=1)
ERROR, WARNING = "error", "warning"


def _table(text: str) -> list[list[str]]:
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
PEOPLE = _table("""
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


def _owner(code: str) -> Person:
    """Who answers for a service's items: its quality correspondent (the référent for QUALITE)."""
    return REFERENT if code == QUALITY_SERVICE.code else STAFF[code].correspondant


# --- Dates -----------------------------------------------------------------------------------


def _rng(name: str) -> random.Random:
    """One generator per data set, so that changing one does not reshuffle the others."""
    return random.Random(f"{SEED}:{name}")


def _first(rows: list[Row], test: Callable[[Row], bool], start: int = 0) -> int:
    """Index of the first row from ``start`` that passes ``test`` (the demo always has one)."""
    for i in range(start, len(rows)):
        if test(rows[i]):
            return i
    raise LookupError("données de démonstration : aucune ligne ne convient")


# --- Délais (courriers) ----------------------------------------------------------------------

# service | letters in the year | weights of Courriel Courrier Réclamation Suggestion
VOLUMES = {
    code: ((int(low), int(high)), [int(w) for w in weights.split()])
    for code, low, high, weights in _table("""
        BRCIE | 500 | 580 | 55 38 4 3
        BCEEP | 560 | 660 | 80 16 3 1
        BAS   | 700 | 800 | 62 28 8 2
        BRGE  | 520 | 620 | 58 34 5 3
        CERT  | 640 | 760 | 66 26 6 2
    """)
}  # fmt: skip
CANALS = ["Courriel", "Courrier", "Réclamation", "Suggestion"]
SUBJECTS: dict[str, list[str]] = {}
for _code, _subject in _table("""
    BRCIE       | Demande d'audience auprès du préfet
    BRCIE       | Invitation à une cérémonie
    BRCIE       | Demande de drapeaux pour une commémoration
    BRCIE       | Demande d'information presse
    BRCIE       | Pavoisement des bâtiments publics
    BRCIE       | Demande de médaille d'honneur
    BCEEP       | Consultation d'un dossier d'enquête publique
    BCEEP       | Observation sur une enquête publique
    BCEEP       | Installation classée : demande d'information
    BCEEP       | Plainte pour nuisances (ICPE)
    BCEEP       | Demande de copie d'un arrêté préfectoral
    BCEEP       | Parc éolien : calendrier de l'enquête
    BAS         | Demande de rendez-vous titre de séjour
    BAS         | Suivi d'une demande ANEF
    BAS         | Renouvellement de titre de séjour
    BAS         | Attestation de prolongation d'instruction
    BAS         | Changement de statut étudiant-salarié
    BAS         | Document de circulation pour mineur
    BRGE        | Inscription sur les listes électorales
    BRGE        | Procuration de vote
    BRGE        | Déclaration d'association
    BRGE        | Licence de débit de boissons
    BRGE        | Point numérique : prise de rendez-vous
    BRGE        | Autorisation de détention d'armes
    CERT        | Suivi de demande de passeport
    CERT        | Carte nationale d'identité : dossier incomplet
    CERT        | Permis de conduire : échange de permis étranger
    CERT        | Certificat d'immatriculation
    CERT        | Perte ou vol de titre
    CERT        | Demande de titre en urgence
    Réclamation | Réclamation : délai d'attente au guichet
    Réclamation | Réclamation : absence de réponse à un courriel
    Réclamation | Réclamation : accueil téléphonique
    Réclamation | Réclamation : rendez-vous annulé
    Suggestion  | Suggestion : horaires d'ouverture
    Suggestion  | Suggestion : signalétique du hall
    Suggestion  | Suggestion : prise de rendez-vous en ligne
"""):
    SUBJECTS.setdefault(_code, []).append(_subject)
OBSERVATIONS = ["Transmis à la DDT", "Relance de l'usager", "Vu avec le chef de bureau",
                "Dossier incomplet", "Réponse commune avec la DREAL"]  # fmt: skip


def _reply(received: dt.date, canal: str, today: dt.date, days: WorkingCalendar,
           rng: random.Random) -> dt.date | None:  # fmt: skip
    """Mostly on time, some late, a few never: recent letters are often still pending."""
    target = DEFAULT_DELAIS[canal]
    if days.add_working_days(received, target) >= today:  # still within the time allowed
        if rng.random() < 0.5:
            return None
        delay = rng.randint(0, target)
    else:
        draw = rng.random()
        if draw < 0.87:
            weights = [3 + target - k for k in range(target + 1)]  # quick replies are common
            delay = rng.choices(range(target + 1), weights)[0]
        elif draw < 0.99:
            delay = target + rng.randint(1, 10)
        else:
            return None
    reply = days.add_working_days(received, delay)
    return reply if reply <= today else None


def _letters(code: str, today: dt.date, days: WorkingCalendar) -> list[Row]:
    """A year of letters, emails, complaints and suggestions, numbered per year as received."""
    rng = _rng(f"letters:{code}")
    (low, high), weights = VOLUMES[code]
    staff = STAFF[code]
    year = [today - k * DAY for k in range(364, -1, -1)]
    working = [d for d in year if days.is_working_day(d)]
    closed = [d for d in year if not days.is_working_day(d)]
    drafts = []
    for _ in range(rng.randint(low, high)):
        canal = rng.choices(CANALS, weights)[0]
        at_weekend = canal == "Courriel" and rng.random() < 0.05
        drafts.append((rng.choice(closed if at_weekend else working), canal))
    numbers: dict[int, int] = {}
    rows = []
    for received, canal in sorted(drafts):
        numbers[received.year] = numbers.get(received.year, 0) + 1
        agent = rng.choice((*staff.agents, staff.correspondant))
        rows.append({
            "numero": f"{received.year}-{numbers[received.year]:04d}",
            "canal": canal,
            "service": code,
            "date_reception": received,
            "objet": rng.choice(SUBJECTS.get(canal) or SUBJECTS[code]),
            "date_reponse": _reply(received, canal, today, days, rng),
            "agent": agent.name,
            "email": agent.email,
        })  # fmt: skip
    return rows


def delais_sheet(code: str, spec: TrackerSpec, today: dt.date, days: WorkingCalendar) -> SheetPlan:
    """A service's letters, laid out the way that service keeps its sheet."""
    rows = _letters(code, today, days)
    columns = spec_columns(spec, drop=["ne_pas_relancer_avant"])
    plan = SheetPlan("courriers", spec.title, columns, list(rows))
    if code == "BRCIE":
        # A title above the header, a total below the data, one reply dated before reception.
        plan.preamble = [f"Suivi des délais de réponse — {code} — {today.year}", ""]
        first, last = plan.cell(0, "numero"), plan.cell(len(rows) - 1, "numero")
        plan.footer = [{"numero": "Total", "canal": Formula(f"=COUNTA({first}:{last})")}]
        i = _first(rows, lambda r: r["canal"] == "Courrier" and r["date_reponse"], start=180)
        rows[i]["date_reponse"] = rows[i]["date_reception"] - 7 * DAY
        plan.planted.append(Planted(i, "date_reponse", ERROR, "réponse datée avant la réception"))
    elif code == "BCEEP":
        # The functional mailbox's own headings (aliases), and a column of its own.
        plan.columns = ["numero", "canal", "date_reception", "objet", "date_reponse",
                        "Observations internes", "agent", "email"]  # fmt: skip
        plan.headers = {"numero": "N° chrono", "canal": "Nature", "date_reception": "Reçu le",
                        "date_reponse": "Répondu le", "agent": "Traité par",
                        "email": "Mél"}  # fmt: skip
        rng = _rng("observations")
        for row in rows:
            if rng.random() < 0.08:
                row["Observations internes"] = rng.choice(OBSERVATIONS)
    elif code == "BAS":
        # Every column of the spec, reminders paused on two letters, an empty row in the middle.
        plan.columns = spec_columns(spec)
        for row in [r for r in rows if r["date_reponse"] is None][-2:]:
            row["ne_pas_relancer_avant"] = today + 10 * DAY
        middle = len(rows) // 2
        plan.rows = [*rows[:middle], None, *rows[middle:]]
    elif code == "CERT":
        # Headers on two lines, and dates typed as text in the usual French ways.
        plan.headers = {"date_reception": "Date de\nréception", "date_reponse": "Date de\nréponse"}
        typed = _first(rows, lambda r: r["date_reception"].day >= 10, start=60)
        first_of_month = _first(rows, lambda r: r["date_reception"].day == 1)
        short_year = _first(rows, lambda r: r["date_reponse"] is not None, start=240)
        for i in (typed, first_of_month):
            rows[i]["date_reception"] = french_date(rows[i]["date_reception"])
        rows[short_year]["date_reponse"] = f"{rows[short_year]['date_reponse']:%d/%m/%y}"
    return plan


# --- Indicateurs -----------------------------------------------------------------------------

# service | indicator | unit | target | direction | source | typical value | spread
INDICATORS = _table("""
    BRCIE | Taux de décroché du standard               | %       | 0.85 | ≥ | PILOT   | 0.88 | 0.04
    BRCIE | Délai moyen de réponse aux courriels       | jours   | 5    | ≤ | Manuel  | 3.2  | 1.0
    BRCIE | Publications sur les réseaux sociaux       | nombre  | 20   | ≥ | Manuel  | 24   | 5
    BCEEP | Délai moyen de réponse aux courriels       | jours   | 5    | ≤ | Manuel  | 3.8  | 1.2
    BCEEP | Taux de réponse dans le délai              | %       | 0.90 | ≥ | Manuel  | 0.91 | 0.04
    BCEEP | Courriels reçus sur la boîte fonctionnelle | nombre  |      |   | Autre   | 48   | 10
    BAS   | Taux de décroché                           | %       | 0.85 | ≥ | PILOT   | 0.81 | 0.05
    BAS   | Temps d'attente moyen au guichet           | minutes | 20   | ≤ | Memobox | 18   | 6
    BAS   | Taux de satisfaction des usagers           | %       | 0.80 | ≥ | SPHINX  | 0.83 | 0.04
    BAS   | Délai moyen de réponse aux courriels       | jours   | 5    | ≤ | Manuel  | 4.6  | 1.5
    BRGE  | Taux de décroché                           | %       | 0.85 | ≥ | PILOT   | 0.90 | 0.03
    BRGE  | Temps d'attente moyen au point numérique   | minutes | 15   | ≤ | Memobox | 11   | 4
    BRGE  | Taux de satisfaction des usagers           | %       | 0.85 | ≥ | SPHINX  | 0.89 | 0.03
    CERT  | Délai d'instruction des CNI-passeports     | jours   | 15   | ≤ | PILOT   | 13   | 4
    CERT  | Taux de dossiers incomplets                | %       | 0.10 | ≤ | PILOT   | 0.08 | 0.02
    CERT  | Taux de décroché                           | %       | 0.85 | ≥ | PILOT   | 0.83 | 0.05
    CERT  | Délai moyen de réponse aux courriels       | jours   | 5    | ≤ | Manuel  | 3.5  | 1.0
""")  # fmt: skip


def _measure(unit: str, text: str, spread: float = 0.0, rng: random.Random | None = None) -> Any:
    """A value in its unit: rates as percentages, delays to a tenth of a day, counts whole."""
    value = float(text) + (rng.gauss(0, spread) if rng else 0.0)
    if unit == "%":
        return Percent(round(min(max(value, 0.0), 1.0), 3))
    if unit == "jours":
        return round(max(value, 0.5), 1)
    return max(round(value), 0)


def indicateurs_sheet(code: str, spec: TrackerSpec, today: dt.date) -> SheetPlan:
    """Twelve months of the service's indicators, up to the month before today's."""
    rng = _rng(f"indicators:{code}")
    months = [add_months(today.replace(day=1), -k) for k in range(12, 0, -1)]
    rows = [
        {"indicateur": name, "service": code, "periode": month,
         "valeur": _measure(unit, typical, float(spread), rng),
         "cible": _measure(unit, target) if target else None, "sens": sense or None,
         "unite": unit, "source": source}
        for month in months
        for service, name, unit, target, sense, source, typical, spread in INDICATORS
        if service == code
    ]  # fmt: skip
    plan = SheetPlan("indicateurs", spec.title, spec_columns(spec), list(rows))
    if code == "BRCIE":
        for row in rows:  # the ASCII spelling people type
            row["sens"] = {"≥": ">=", "≤": "<=", None: None}[row["sens"]]
    elif code == "BAS":
        plan.formats = {"periode": "mmmm yyyy"}
        # A rate target typed as 85 instead of 85 %: the gap computed would be meaningless.
        i = _first(rows, lambda r: r["indicateur"] == "Taux de décroché", start=len(rows) // 2)
        rows[i]["cible"] = 85
        plan.planted.append(Planted(i, "cible", WARNING, "cible 85 au lieu de 85 %"))
    elif code == "BRGE":
        for row in rows:
            row["periode"] = f"{row['periode']:%Y-%m}"
    elif code == "CERT":
        for row in rows:
            month = row["periode"]
            row["periode"] = f"{MONTH_ABBREVIATIONS[month.month - 1]} {month.year}"
            if row["unite"] == "jours":  # typed as text, with a decimal comma
                row["valeur"] = f"{row['valeur']:.1f}".replace(".", ",")
    return plan


# --- Plan d'actions --------------------------------------------------------------------------

ORIGINS = {"AE": "Autoévaluation", "AU": "Audit", "RE": "Réclamation", "EM": "Enquête mystère",
           "ES": "Enquête de satisfaction", "GT": "Groupe de travail", "AT": "Autre"}  # fmt: skip
# engagement | origine (ORIGINS) | service pilote | action
ACTIONS = _table("""
     1 | AE | BRGE    | Mettre à jour les horaires d'ouverture sur le site internet et dans le hall
     1 | EM | BRGE    | Afficher les conditions d'accès au point numérique à l'entrée du site
     2 | AE | QUALITE | Diffuser la charte d'accueil aux agents arrivés depuis janvier
     2 | RE | BAS     | Rappeler les règles de courtoisie au guichet séjour
     3 | ES | QUALITE | Restituer en COPIL les résultats de l'enquête de satisfaction
     3 | GT | QUALITE | Mettre en place un registre des suggestions à l'accueil général
     4 | AE | QUALITE | Organiser la formation « accueil des publics en situation difficile »
     4 | AU | CERT    | Former les nouveaux agents du CERT à l'accueil téléphonique
     5 | EM | BRGE    | Mettre à jour le guide d'orientation de l'accueil général
     6 | GT | BRGE    | Remplacer les sièges de la salle d'attente de l'espace Chamars
     6 | ES | BAS     | Installer une fontaine à eau dans la salle d'attente du séjour
     7 | AE | BAS     | Adapter les plages de rendez-vous du guichet séjour aux pics d'affluence
     7 | GT | BAS     | Afficher le temps d'attente estimé dans la salle d'attente
     8 | AE | QUALITE | Étudier l'opportunité d'un serveur vocal interactif local
     9 | AE | CERT    | Citer le serveur vocal national 34 00 dans les courriers CNI-passeports
    10 | AE | BRCIE   | Réduire le taux d'appels non décrochés au standard aux heures de pointe
    10 | EM | BRCIE   | Rédiger une fiche réflexe pour les transferts d'appels
    11 | GT | BRCIE   | Revoir l'arborescence des démarches sur le site internet
    12 | AU | BRCIE   | Contrôler chaque trimestre la date de mise à jour des pages démarches
    13 | AE | BAS     | Promouvoir l'ANEF auprès des usagers du guichet séjour
    14 | GT | CERT    | Ajouter le lien de pré-demande CNI-passeport aux réponses par courriel
    15 | EM | BRGE    | Installer un second poste au point numérique
    15 | RE | BRGE    | Afficher les horaires de présence du médiateur numérique
    16 | AE | QUALITE | Relire les courriers types avec la grille de lisibilité
    16 | GT | BCEEP   | Simplifier l'accusé de réception des demandes de consultation
    17 | AE | BCEEP   | Suivre les délais de réponse de la boîte fonctionnelle
    17 | AU | BAS     | Résorber les courriels en attente depuis plus de 5 jours ouvrés
    18 | AE | BCEEP   | Enregistrer chaque courriel reçu sur la boîte fonctionnelle
    18 | GT | CERT    | Tracer les demandes d'information reçues par courrier
    19 | AE | BRCIE   | Publier le calendrier des permanences sur les réseaux sociaux
    20 | AU | BRCIE   | Formaliser la validation des publications sur les réseaux sociaux
    21 | AE | CERT    | Prévenir par courriel les usagers dont le dossier CNI est incomplet
    22 | AE | CERT    | Suivre chaque mois le délai d'instruction des CNI-passeports
    22 | GT | CERT    | Renforcer l'instruction pendant le pic de demandes de l'été
    23 | AU | CERT    | Former les agents du CERT à la détection de la fraude documentaire
    23 | GT | CERT    | Diffuser la fiche réflexe « suspicion de fraude » au guichet
       | AT | QUALITE | Préparer l'audit de suivi Qual-e-pref
       | AT | QUALITE | Rédiger le bilan annuel de la démarche qualité
     2 | RE | BRGE    | Rappeler la procédure de rendez-vous pour les procurations
    17 | RE | BRGE    | Répondre aux réclamations électorales sous 15 jours ouvrés
    12 | GT | BCEEP   | Publier les avis d'enquête publique sous 48 heures sur le site
     5 | AU | BAS     | Mettre à jour le logigramme d'orientation des usagers étrangers
""")  # fmt: skip

STATES = ["Fait", "En cours", "À faire", "Abandonné"]
# Rows whose state is fixed, so that the quirks and anomalies below land on fitting rows.
FORCED_STATES = {2: "Fait", 6: "En cours", 9: "En cours", 11: "En cours", 13: "Abandonné",
                 15: "Fait", 18: "En cours", 21: "En cours", 24: "À faire"}  # fmt: skip


def _action(n: int, state: str, today: dt.date, rng: random.Random) -> Row:
    engagement, origin, pilot, text = ACTIONS[n - 1]
    owner = _owner(pilot)
    start: dt.date | None = today - rng.randint(30, 330) * DAY
    row: Row = {"numero": f"PA-{n:03d}", "engagement": int(engagement) if engagement else None,
                "origine": ORIGINS[origin], "action": text, "service_pilote": pilot,
                "responsable": owner.name, "etat": state,
                "email_responsable": owner.email if rng.random() < 0.9 else None}  # fmt: skip
    if state == "Fait":
        assert start is not None
        due = min(start + rng.randint(30, 180) * DAY, today + 30 * DAY)
        done = min(max(due + rng.randint(-25, 12) * DAY, start), today - DAY)
        row.update(echeance=due, avancement=Percent(1.0), date_realisation=done)
    elif state == "En cours":
        due = today + rng.randint(-60, 120) * DAY
        row.update(echeance=due, avancement=Percent(rng.randrange(10, 95, 5) / 100))
        if due < today:
            row["commentaire"] = rng.choice(["Retard dû à la charge du service", "Point en COPIL"])
    elif state == "À faire":
        row["echeance"] = today + rng.randint(10, 200) * DAY
        start = None if rng.random() < 0.5 else today + rng.randint(1, 20) * DAY
        row["avancement"] = Percent(0.0) if rng.random() < 0.5 else None
    else:
        row["echeance"] = today + rng.randint(-120, 60) * DAY
        row["commentaire"] = "Abandonnée en COPIL : solution retenue au niveau national"
    row["date_debut"] = start
    return row


def actions_sheet(spec: TrackerSpec, today: dt.date) -> SheetPlan:
    rng = _rng("actions")
    rows = [
        _action(i + 1, FORCED_STATES.get(i) or rng.choices(STATES, [46, 30, 16, 8])[0], today, rng)
        for i in range(len(ACTIONS))
    ]
    preamble = ["Plan d'actions qualité — Préfecture du Doubs",
                f"Mis à jour après le COPIL du {today - 20 * DAY:%d/%m/%Y}", ""]  # fmt: skip
    columns = spec_columns(spec, drop=["ne_pas_relancer_avant"])
    plan = SheetPlan("plan_actions", spec.title, columns, list(rows), preamble=preamble)
    # Quirks that are not anomalies.
    rows[6]["avancement"] = "50 %"
    rows[11]["avancement"] = 0.5
    rows[18]["etat"] = "en cours"
    rows[24]["echeance"] = french_date(rows[24]["echeance"])
    rows[32]["origine"] = "Auto-évaluation"
    # Anomalies.
    rows[2]["date_realisation"] = None
    plan.planted.append(Planted(2, "etat", WARNING, "action « Fait » sans date de réalisation"))
    rows[9]["echeance"] = f"31/02/{today.year}"
    plan.planted.append(Planted(9, "echeance", ERROR, "date impossible (31 février)"))
    rows[15]["etat"] = "Terminé ?"
    plan.planted.append(Planted(15, "etat", ERROR, "état hors liste"))
    rows[21]["avancement"] = Percent(1.5)
    plan.planted.append(Planted(21, "avancement", ERROR, "avancement de 150 %"))
    rows[27]["numero"] = rows[26]["numero"]
    plan.planted.append(Planted(27, "numero", ERROR, "numéro d'action en double"))
    return plan


# --- Documents -------------------------------------------------------------------------------

# type prefix -> (Type, months between reviews)
DOC_TYPES = {"FP": ("Fiche de procédure", 24), "CT": ("Courrier type", 24),
             "GA": ("Guide d'accueil", 24), "CH": ("Charte", 36), "AF": ("Affichage", 12),
             "AU": ("Autre", 12)}  # fmt: skip
# service | type prefix | intitulé
DOCUMENTS = _table("""
    QUALITE | CH | Charte d'accueil des usagers
    QUALITE | GA | Guide du nouvel arrivant
    QUALITE | AF | Affiche des engagements Qual-e-pref
    QUALITE | AU | Politique qualité de la préfecture
    QUALITE | AU | Procédure de traitement des réclamations
    QUALITE | AU | Questionnaire de satisfaction
    QUALITE | GA | Guide de l'accueil téléphonique
    QUALITE | CH | Charte Marianne (ancienne version)
    QUALITE | AU | Lettre de mission du référent qualité
    BRCIE   | FP | Accueil téléphonique du standard
    BRCIE   | FP | Traitement des demandes presse
    BRCIE   | FP | Publication sur les réseaux sociaux
    BRCIE   | CT | Réponse à une demande d'audience
    BRCIE   | CT | Accusé de réception d'un courrier
    BRCIE   | CH | Charte des réseaux sociaux
    BRCIE   | FP | Pavoisement des bâtiments publics
    BRCIE   | CT | Invitation à une cérémonie
    BCEEP   | FP | Traitement de la boîte fonctionnelle
    BCEEP   | FP | Publication des avis d'enquête publique
    BCEEP   | CT | Accusé de réception des demandes de consultation
    BCEEP   | CT | Réponse type ICPE
    BCEEP   | FP | Archivage des dossiers d'enquête
    BCEEP   | CT | Prolongation d'enquête publique
    BAS     | FP | Accueil au guichet séjour
    BAS     | FP | Prise de rendez-vous séjour
    BAS     | FP | Remise des titres de séjour
    BAS     | CT | Dossier incomplet
    BAS     | CT | Convocation pour la remise du titre
    BAS     | GA | Guide d'accueil des usagers étrangers
    BAS     | FP | Traitement des courriels du séjour
    BAS     | CT | Attestation de prolongation d'instruction
    BAS     | FP | Gestion de la file d'attente
    BRGE    | FP | Point numérique : accompagnement des usagers
    BRGE    | FP | Établissement des procurations
    BRGE    | FP | Inscription sur les listes électorales
    BRGE    | CT | Réponse à une association
    BRGE    | CT | Demande de pièce complémentaire
    BRGE    | FP | Accueil général : orientation
    BRGE    | CT | Licence de débit de boissons
    BRGE    | AF | Horaires du point numérique
    CERT    | FP | Instruction d'une demande de CNI-passeport
    CERT    | FP | Détection de la fraude documentaire
    CERT    | FP | Dossier incomplet : contact de l'usager
    CERT    | CT | Demande de pièces complémentaires
    CERT    | CT | Rejet de demande de titre
    CERT    | GA | Accueil téléphonique du CERT
    CERT    | FP | Remise sécurisée des titres
    CERT    | CT | Perte ou vol de titre
    CERT    | AF | Pièces à fournir pour une CNI
""")  # fmt: skip
ACCESS = ["Intranet", "Internet", "Affichage", "Présentoir", "Dossiers communs",
          "Intranet, affichage", "Internet, présentoir"]  # fmt: skip
# Documents whose state is fixed, so that the quirks below land on fitting rows.
FORCED_DOC_STATES = {"Charte Marianne (ancienne version)": "Archivé",
                     "Accueil au guichet séjour": "Validé",
                     "Réponse type ICPE": "Validé"}  # fmt: skip


def _document(ref: str, code: str, kind: str, title: str, today: dt.date,
              rng: random.Random) -> Row:  # fmt: skip
    owner = _owner(code)
    doc_type, months = DOC_TYPES[kind]
    state = rng.choices(["Validé", "En rédaction", "À rédiger", "Archivé"], [70, 12, 8, 10])[0]
    state = FORCED_DOC_STATES.get(title, state)
    row: Row = {"reference": ref, "intitule": title, "type": doc_type, "service": code,
                "responsable": owner.name, "email_responsable": owner.email, "etat": state,
                "version": f"v{rng.randint(1, 4)}",
                "accessibilite": rng.choice(ACCESS)}  # fmt: skip
    if state == "Validé":
        # Next review: a tenth expired, some within the alert window, most later.
        offset = rng.choices([rng.randint(-200, -1), rng.randint(0, 60), rng.randint(61, 700)],
                             [10, 15, 75])[0]  # fmt: skip
        due = today + min(offset, months * 30 - 10) * DAY
        row["date_mise_a_jour"] = add_months(due, -months)
        if kind == "AF" and rng.random() < 0.6:
            row["date_caducite"] = due  # a poster expires on a date, it is not revised
        else:
            row["periodicite_revision"] = months
    elif state in ("À rédiger", "En rédaction"):
        row["date_prevue"] = today + rng.randint(-40, 150) * DAY
        row["version"] = None if state == "À rédiger" else "projet"
    else:
        row["date_mise_a_jour"] = today - rng.randint(400, 1500) * DAY
    return row


def documents_sheet(spec: TrackerSpec, today: dt.date) -> SheetPlan:
    rng = _rng("documents")
    rows: list[Row] = []
    numbers: dict[tuple[str, str], int] = {}
    for code, kind, title in DOCUMENTS:
        numbers[code, kind] = numbers.get((code, kind), 0) + 1
        short = "QUAL" if code == QUALITY_SERVICE.code else code
        ref = f"{kind}-{short}-{numbers[code, kind]:02d}"
        rows.append(_document(ref, code, kind, title, today, rng))
    columns = spec_columns(spec, drop=["ne_pas_relancer_avant"])
    preamble = ["Tableau des enregistrements — base documentaire qualité"]
    plan = SheetPlan("documents", spec.title, columns, list(rows), preamble=preamble)
    by_title = {row["intitule"]: i for i, row in enumerate(rows)}
    # Quirks: spellings of real sheets.
    rows[by_title["Accueil au guichet séjour"]].update(type="Procédure", etat="Publié")
    rows[by_title["Réponse type ICPE"]]["etat"] = "validé"
    # Anomalies: a document without a title, a validated one that nobody will ever review.
    i = by_title["Demande de pièce complémentaire"]
    rows[i]["intitule"] = None
    plan.planted.append(Planted(i, "intitule", ERROR, "intitulé manquant"))
    i = by_title["Horaires du point numérique"]
    rows[i].update(etat="Validé", date_mise_a_jour=None, periodicite_revision=None,
                   date_caducite=None, date_prevue=None)  # fmt: skip
    plan.planted.append(Planted(i, "etat", WARNING, "document validé sans date de révision"))
    return plan


# --- Formations ------------------------------------------------------------------------------

TRAININGS: dict[str, list[str]] = {}
for _post, _name in _table("""
    Accueil physique     | Accueil des usagers : posture et courtoisie
    Accueil physique     | Gestion des situations conflictuelles
    Accueil physique     | Accueil des personnes en situation de handicap
    Accueil téléphonique | Accueil téléphonique : techniques et qualité de service
    Accueil téléphonique | Gestion des situations conflictuelles
    Titres               | Lutte contre la fraude documentaire
    Titres               | Instruction des CNI-passeports
    Titres               | Accueil téléphonique : techniques et qualité de service
    Encadrement          | Manager la qualité de service
    Encadrement          | Référentiel Qual-e-pref : module encadrants
    Autre                | Référentiel Qual-e-pref : sensibilisation
    Autre                | Rédiger des courriers clairs
"""):
    TRAININGS.setdefault(_post, []).append(_name)


def _training(row: Row, arrived: dt.date, today: dt.date, rng: random.Random) -> None:
    """Done, planned, late or not planned yet."""
    draw = rng.random()
    if draw < 0.55 and (today - arrived).days > 30:
        done = today - rng.randint(3, min(700, (today - arrived).days - 1)) * DAY
        row.update(date_prevue=done, date_realisee=done)
    elif draw < 0.78:
        row["date_prevue"] = today + rng.randint(10, 120) * DAY
    elif draw < 0.88:
        row["date_prevue"] = today - rng.randint(10, 90) * DAY


def formations_sheet(spec: TrackerSpec, today: dt.date) -> SheetPlan:
    rng = _rng("formations")
    rows: list[Row] = []
    for code, staff in STAFF.items():
        for person in staff.everyone:
            post = staff.post
            if person in (staff.chef, staff.correspondant):
                post = "Encadrement" if person == staff.chef else "Autre"
            newcomer = person == staff.agents[-1]
            arrived = today - (rng.randint(20, 300) if newcomer else rng.randint(400, 3500)) * DAY
            count = 2 if newcomer or rng.random() < 0.3 else 1
            for training in rng.sample(TRAININGS[post], k=count):
                row: Row = {"agent": person.name, "service": code, "poste": post,
                            "date_arrivee": arrived, "formation": training,
                            "email": person.email if rng.random() < 0.85 else None}  # fmt: skip
                _training(row, arrived, today, rng)
                rows.append(row)
    columns = spec_columns(spec, drop=["ne_pas_relancer_avant"])
    plan = SheetPlan("formations", spec.title, columns, list(rows))
    # A quirk: the switchboard's usual name.
    rows[_first(rows, lambda r: r["poste"] == "Accueil téléphonique")]["poste"] = "Standard"
    # An anomaly: the planned date typed in the « done » column.
    i = _first(rows, lambda r: not r.get("date_realisee") and r["poste"] != "Standard", start=20)
    rows[i].update(date_prevue=today + 12 * DAY, date_realisee=today + 12 * DAY)
    plan.planted.append(Planted(i, "date_realisee", ERROR, "formation réalisée dans le futur"))
    return plan


# --- Correspondants --------------------------------------------------------------------------


def correspondants_sheet(spec: TrackerSpec) -> SheetPlan:
    rows: list[Row] = []
    for code, staff in STAFF.items():
        for person, role in ((staff.correspondant, "Correspondant qualité"),
                             (staff.chef, "Chef de service")):  # fmt: skip
            rows.append({"service": code, "nom": person.name, "email": person.email, "role": role})
    rows.append({"service": QUALITY_SERVICE.code, "nom": REFERENT.name, "email": REFERENT.email,
                 "role": "Référent qualité"})  # fmt: skip
    # Quirks: the feminine forms people write.
    rows[2]["role"] = "Correspondante qualité"
    rows[5]["role"] = "Cheffe de bureau"
    # An anomaly: the deputy correspondent of BRGE, below its two rows, with an address cut short.
    i = 8
    rows.insert(i, {"service": "BRGE", "nom": "Jean Dupont", "email": "jean.dupont@",
                    "role": "Correspondant qualité"})  # fmt: skip
    plan = SheetPlan("correspondants", spec.title, spec_columns(spec), list(rows))
    plan.planted.append(Planted(i, "email", ERROR, "adresse électronique incomplète"))
    return plan


# --- Autoévaluation --------------------------------------------------------------------------

# n° | niveau | service | preuves
ASSESSMENTS = {
    int(n): (level, service or None, proof or None)
    for n, level, service, proof in _table("""
         1 | Conforme               | BRGE          | Horaires sur le site internet et à l'entrée
         2 | Conforme               |               | Charte d'accueil affichée
         3 | Partiellement conforme |               | Enquête de satisfaction annuelle (SPHINX)
         4 | Conforme               |               | Tableau de suivi des formations
         5 | Conforme               | BRGE          | Guide d'orientation de l'accueil général
         6 | Partiellement conforme |               |
         7 | Partiellement conforme | BAS           | Statistiques Memobox
         8 | Non applicable         |               |
         9 | Conforme               | CERT          | Mention du 34 00 dans les courriers
        10 | Partiellement conforme | BRCIE         | Statistiques PILOT du standard
        11 | Conforme               | BRCIE         | Audit du site internet
        12 | Conforme               | BRCIE         |
        13 | Conforme               |               |
        14 | conforme               | CERT          |
        15 | Conforme               | BRGE          | Point numérique ouvert du lundi au vendredi
        16 | Conforme               |               | Courriers types relus
        17 | Partiellement conforme | Tous services | Tableaux de suivi des délais
        18 | Conforme               | BCEEP         | Registre de la boîte fonctionnelle
        19 | Conforme               | BRCIE         | Page Facebook de la préfecture
        20 | Conforme               | BRCIE         | Circuit de validation des publications
        21 | Conforme               | CERT          | Courriels aux usagers (modèle CT-CERT-01)
        22 | Non conforme           | CERT          | Délais d'instruction PILOT
        23 | Conforme               | CERT          | Fiche réflexe fraude
    """)
}  # fmt: skip


def autoevaluation_sheet(spec: TrackerSpec, today: dt.date) -> SheetPlan:
    rows: list[Row] = []
    for module, number, title in ENGAGEMENTS:
        level, service, proof = ASSESSMENTS[number]
        # Module 2 was evaluated last month, module 1 three months ago (three of them earlier).
        ago = 41 if module == 2 else (230 if number in (5, 12, 13) else 96)
        rows.append({
            "module": MODULES[module], "engagement": number, "intitule": title,
            "service": service, "niveau": level, "preuves": proof,
            "date_evaluation": today - ago * DAY,
            "evaluateur": REFERENT.name if number % 3 else f"{REFERENT.name}, groupe de travail",
            "commentaire": None if level.lower() == "conforme" else "Voir le plan d'actions",
        })  # fmt: skip
    plan = SheetPlan("autoevaluation", spec.title, spec_columns(spec), list(rows))
    i = _first(rows, lambda r: r["engagement"] == 16)
    rows[i]["niveau"] = "conforme partiel"
    plan.planted.append(Planted(i, "niveau", ERROR, "niveau hors liste"))
    return plan


# --- The whole demo --------------------------------------------------------------------------


def build_demo(today: dt.date, specs: dict[str, TrackerSpec] | None = None) -> WorkspacePlan:
    """Every workbook of the demo workspace, with its planted anomalies."""
    specs = specs or load_specs()
    days = WorkingCalendar()
    books = [
        WorkbookPlan(service_path(s.code), s.code, s.name, [
            delais_sheet(s.code, specs["courriers"], today, days),
            indicateurs_sheet(s.code, specs["indicateurs"], today),
        ])
        for s in SERVICES
    ]  # fmt: skip
    central = {
        "autoevaluation": autoevaluation_sheet(specs["autoevaluation"], today),
        "plan_actions": actions_sheet(specs["plan_actions"], today),
        "documents": documents_sheet(specs["documents"], today),
        "formations": formations_sheet(specs["formations"], today),
        "correspondants": correspondants_sheet(specs["correspondants"]),
    }
    for book in CENTRAL_BOOKS:
        sheets = [central[book.tracker]]
        books.append(WorkbookPlan(central_path(book), book.code, central_name(book), sheets))
    return WorkspacePlan(books, REFERENT.email, demo=True)


def manifest(plan: WorkspacePlan) -> list[tuple[str, str, str, str]]:
    """(file, sheet, cell, severity) of every anomaly planted in ``plan``."""
    return [
        (book.label, sheet.title, sheet.cell(p.index, p.column), p.severity)
        for book in plan.books
        for sheet in book.sheets
        for p in sheet.planted
    ]


def planted_anomalies(today: dt.date) -> list[tuple[str, str, str, str]]:
    """(file, sheet, cell, severity) of the anomalies the demo of ``today`` holds on purpose."""
    return manifest(build_demo(today))
