"""Demo data of the services' own workbooks: a year of letters, emails and complaints (Délais)
and of monthly indicators, with their planted anomalies.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from qep_sync.config import DEFAULT_DELAIS
from qep_sync.core.specs import TrackerSpec
from qep_sync.text import MONTH_ABBREVIATIONS, french_date
from qep_sync.workdays import WorkingCalendar, add_months
from qep_sync.workspace.demo_people import (
    DAY,
    ERROR,
    STAFF,
    WARNING,
    Row,
    first_row,
    seeded,
    text_table,
)
from qep_sync.workspace.plan import (
    Formula,
    Percent,
    Planted,
    SheetPlan,
    spec_columns,
)

# --- Délais (courriers) ----------------------------------------------------------------------

# service | letters in the year | weights of Courriel Courrier Réclamation Suggestion
VOLUMES = {
    code: ((int(low), int(high)), [int(w) for w in weights.split()])
    for code, low, high, weights in text_table("""
        BRCIE | 500 | 580 | 55 38 4 3
        BCEEP | 560 | 660 | 80 16 3 1
        BAS   | 700 | 800 | 62 28 8 2
        BRGE  | 520 | 620 | 58 34 5 3
        CERT  | 640 | 760 | 66 26 6 2
    """)
}  # fmt: skip
CANALS = ["Courriel", "Courrier", "Réclamation", "Suggestion"]
SUBJECTS: dict[str, list[str]] = {}
for _code, _subject in text_table("""
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
    rng = seeded(f"letters:{code}")
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
        i = first_row(rows, lambda r: r["canal"] == "Courrier" and r["date_reponse"], start=180)
        rows[i]["date_reponse"] = rows[i]["date_reception"] - 7 * DAY
        plan.planted.append(Planted(i, "date_reponse", ERROR, "réponse datée avant la réception"))
    elif code == "BCEEP":
        # The functional mailbox's own headings (aliases), and a column of its own.
        plan.columns = ["numero", "canal", "date_reception", "objet", "date_reponse",
                        "Observations internes", "agent", "email"]  # fmt: skip
        plan.headers = {"numero": "N° chrono", "canal": "Nature", "date_reception": "Reçu le",
                        "date_reponse": "Répondu le", "agent": "Traité par",
                        "email": "Mél"}  # fmt: skip
        rng = seeded("observations")
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
    elif code == "BRGE":
        # Kept in LibreOffice (.ods, see plan.SERVICES): a title above the header.
        plan.preamble = [f"Courriers et courriels {today.year} — {code}", ""]
    elif code == "CERT":
        # Headers on two lines, and dates typed as text in the usual French ways.
        plan.headers = {"date_reception": "Date de\nréception", "date_reponse": "Date de\nréponse"}
        typed = first_row(rows, lambda r: r["date_reception"].day >= 10, start=60)
        first_of_month = first_row(rows, lambda r: r["date_reception"].day == 1)
        short_year = first_row(rows, lambda r: r["date_reponse"] is not None, start=240)
        for i in (typed, first_of_month):
            rows[i]["date_reception"] = french_date(rows[i]["date_reception"])
        rows[short_year]["date_reponse"] = f"{rows[short_year]['date_reponse']:%d/%m/%y}"
    return plan


# --- Indicateurs -----------------------------------------------------------------------------

# service | indicator | unit | target | direction | source | typical value | spread
INDICATORS = text_table("""
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
    rng = seeded(f"indicators:{code}")
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
        i = first_row(rows, lambda r: r["indicateur"] == "Taux de décroché", start=len(rows) // 2)
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
