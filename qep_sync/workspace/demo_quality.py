"""Demo data of the quality mission's central workbooks: the action plan, the documents, the
training plan, the correspondents and the self-assessment, with their planted anomalies.
"""

from __future__ import annotations

import datetime as dt
import random

from qep_sync.core.specs import TrackerSpec
from qep_sync.referential import ENGAGEMENTS, MODULES
from qep_sync.text import french_date
from qep_sync.workdays import add_months
from qep_sync.workspace.demo_people import (
    DAY,
    ERROR,
    REFERENT,
    STAFF,
    WARNING,
    Row,
    first_row,
    owner_of,
    seeded,
    text_table,
)
from qep_sync.workspace.plan import (
    QUALITY_SERVICE,
    Percent,
    Planted,
    SheetPlan,
    spec_columns,
)

# --- Plan d'actions --------------------------------------------------------------------------

ORIGINS = {"AE": "Autoévaluation", "AU": "Audit", "RE": "Réclamation", "EM": "Enquête mystère",
           "ES": "Enquête de satisfaction", "GT": "Groupe de travail", "AT": "Autre"}  # fmt: skip
# engagement | origine (ORIGINS) | service pilote | action
ACTIONS = text_table("""
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
    owner = owner_of(pilot)
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
    rng = seeded("actions")
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
DOCUMENTS = text_table("""
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
    owner = owner_of(code)
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
    rng = seeded("documents")
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
for _post, _name in text_table("""
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
    rng = seeded("formations")
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
    rows[first_row(rows, lambda r: r["poste"] == "Accueil téléphonique")]["poste"] = "Standard"
    # An anomaly: the planned date typed in the « done » column.
    i = first_row(rows, lambda r: not r.get("date_realisee") and r["poste"] != "Standard", start=20)
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
    for n, level, service, proof in text_table("""
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
    i = first_row(rows, lambda r: r["engagement"] == 16)
    rows[i]["niveau"] = "conforme partiel"
    plan.planted.append(Planted(i, "niveau", ERROR, "niveau hors liste"))
    return plan
