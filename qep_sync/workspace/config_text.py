"""The commented French ``qep-sync.toml`` of a new workspace: every value shown is the default,
read from the config's own dataclasses.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable

from qep_sync.config import CONSOLIDATED_NAME, Alerts, Config, LogSettings, Rules, Schedule
from qep_sync.workspace.plan import QUALITY_MAILBOX, WorkspacePlan

# --- The config file -------------------------------------------------------------------------


def _toml(value: str) -> str:
    # A JSON string is a valid TOML basic string (same escapes).
    return json.dumps(value, ensure_ascii=False)


def _toml_list(values: Iterable[int]) -> str:
    return "[" + ", ".join(str(v) for v in values) + "]"


def _people(plan: WorkspacePlan) -> list[str]:
    """Who sends and who is the quality lead: the demo's people, or placeholders to fill."""
    if plan.demo:
        return [
            "# Expéditeur des courriels de relance.",
            f"sender = {_toml(QUALITY_MAILBOX)}",
            "# Référent qualité : en copie des relances (copy_quality_lead), prévenu des escalades.",
            f"quality_lead = {_toml(plan.quality_lead)}",
        ]
    return [
        "# Expéditeur des courriels de relance : l'adresse de la mission qualité (à remplacer).",
        f"sender = {_toml(Alerts().sender)}",
        "# Référent qualité : en copie des relances (copy_quality_lead). Sans cette clé, c'est",
        "# la personne de rôle « Référent qualité » du suivi Correspondants.",
        '# quality_lead = "referent.qualite@prefecture.invalid"',
    ]


def config_text(plan: WorkspacePlan, today: dt.date) -> str:
    """The commented French config of a workspace; every value shown is the default."""
    rules, alerts = Rules(), Alerts()
    title = (
        "Préfecture du Doubs (démonstration)"
        if plan.demo
        else "préfecture de … (à compléter : adresses et services sont des exemples)"
    )
    lines = [
        f"# Configuration de qep-sync — {title}",
        f"# Créée le {today:%d/%m/%Y} par « qep-sync init ». Format TOML : une ligne qui commence",
        "# par # est un commentaire ; les textes sont entre guillemets. Les chemins relatifs",
        "# partent du dossier de ce fichier. Vérifier : qep-sync check -c qep-sync.toml",
        "",
        "[workspace]",
        "# Le nom de la préfecture, en titre du bilan annuel et du dossier d'audit.",
        'prefecture = "Préfecture du Doubs"' if plan.demo else '# prefecture = "Préfecture de …"',
        "# Classeur de synthèse du référent qualité, reconstruit à chaque « qep-sync sync ».",
        f"consolidated = {_toml(CONSOLIDATED_NAME)}",
        "# Dossier où qep-sync garde son état (relances déjà envoyées) : ne pas le modifier.",
        f"state_dir = {_toml(str(Config(path=None, sources=()).state_dir))}",
        "# Descriptions des suivis (colonnes, valeurs autorisées) : par défaut celles fournies.",
        "# Pour ajouter une valeur ou un alias : « qep-sync specs export schemas » les copie",
        "# dans le dossier schemas/ ; modifiez-les et indiquez-le :",
        '# schemas_dir = "schemas"',
        "# Ce dossier vu des postes des agents (partage ou lecteur) : les chemins des courriels",
        "# commencent alors par lui et s'ouvrent d'un clic. Entre apostrophes :",
        "# display_root = '\\\\serveur\\qualite'",
        "",
        "[rules]",
        "# Une action est « Échéance proche » quand il reste au plus ce nombre de jours.",
        f"echeance_proche_jours = {rules.echeance_proche_jours}",
        "# Un document validé est « À renouveler » ce nombre de jours avant sa prochaine échéance.",
        f"document_alerte_jours = {rules.document_alerte_jours}",
        "# Délai pour former un nouvel arrivant sans date prévue (en mois après son arrivée).",
        f"formation_delai_mois = {rules.formation_delai_mois}",
        "# Une autoévaluation est « À réévaluer » ce nombre de mois après sa date.",
        f"autoevaluation_periodicite_mois = {rules.autoevaluation_periodicite_mois}",
        "",
        "[rules.delai_reponse_jours_ouvres]",
        "# Délai de réponse visé par canal, en jours ouvrés (engagement 17). Les chiffres du",
        "# référentiel changent selon les années : ajustez-les ici.",
        *(f"{_toml(canal)} = {days}" for canal, days in rules.delai_reponse_jours_ouvres.items()),
        "",
        "[calendar]",
        "# Jours ouvrés : du lundi au vendredi, hors jours fériés nationaux (sans les jours du",
        "# droit local d'Alsace-Moselle). Jours de fermeture en plus (ponts), au format",
        "# AAAA-MM-JJ, par exemple [2026-05-15, 2026-12-24] :",
        "closure_days = []",
        "# Jours fériés où la préfecture est ouverte (lundi de Pentecôte, journée de solidarité) :",
        "worked_holidays = []",
        "",
        "[alerts]",
        *_people(plan),
        f"copy_quality_lead = {str(alerts.copy_quality_lead).lower()}",
        "# Relances envoyées ce nombre de jours avant l'échéance…",
        f"reminder_days = {_toml_list(alerts.reminder_days)}",
        "# …puis tous les N jours tant que l'échéance est dépassée.",
        f"late_every_days = {alerts.late_every_days}",
        "# Le responsable du service (rôle « Chef de service » du suivi Correspondants) est",
        "# prévenu quand un retard dépasse ce nombre de jours.",
        f"escalation_days = {alerts.escalation_days}",
        "# Garde-fou : nombre maximal de courriels par exécution.",
        f"max_messages = {alerts.max_messages}",
        "# Pas de courriel le week-end ni les jours fériés.",
        f"send_on_non_working_days = {str(alerts.send_on_non_working_days).lower()}",
        "# Sans section [smtp], rien n'est envoyé : les courriels sont déposés dans ce dossier",
        "# (fichiers .eml, à ouvrir avec la messagerie) pour être relus.",
        f"outbox = {_toml(str(alerts.outbox))}",
        "",
        "# Envoi réel des courriels : décommentez et complétez la section [smtp]. Le mot de passe",
        "# n'est jamais écrit ici : il est lu dans la variable d'environnement que nomme",
        "# password_env.",
        "# [smtp]",
        '# host = "smtp.exemple.gouv.fr"',
        "# port = 587",
        '# security = "starttls"   # starttls, tls ou none',
        '# user = "prefqualite"',
        '# password_env = "QEP_SMTP_PASSWORD"',
        "",
        "# Service (qep-sync serve) : valeurs par défaut ci-dessous, heures de Paris.",
        "[schedule]",
        f"sync_every_minutes = {Schedule().sync_every_minutes}",
        f'office_hours = ["{Schedule().office_hours[0]:%H:%M}", "{Schedule().office_hours[1]:%H:%M}"]',
        f"working_days_only = {str(Schedule().working_days_only).lower()}",
        f'alerts_at = "{Schedule().alerts_at:%H:%M}"   # relances une fois par jour',
        f"failure_alert_after = {Schedule().failure_alert_after}   # échecs d'affilée avant de prévenir",
        "",
        "# Journal du service : texte (ou json pour un collecteur de journaux), fichier tournant.",
        "[logging]",
        f'format = "{LogSettings().format}"',
        '# file = "journaux/qep-sync.log"',
        "",
        "# Sources : un bloc [[sources]] par classeur. service = code court et unique (lettres,",
        "# chiffres, . _ -), name = nom complet, path = chemin du classeur (.xlsx, .xlsm ou",
        "# .ods). Les onglets sont reconnus par leur nom ou leur ligne d'en-tête ; pour imposer",
        "# le suivi d'un onglet :",
        '# sheets = { "Feuil1" = "courriers" }',
        "# (suivis : autoevaluation, plan_actions, documents, formations, courriers, indicateurs,",
        "# correspondants).",
    ]
    if not plan.demo:
        lines += [
            "# Les services ci-dessous sont des exemples : pour chacun des vôtres, un bloc avec",
            "# son code, son nom et son classeur (renommez le fichier ou indiquez le vôtre). Les",
            "# classeurs de la mission qualité (central = true) servent à tous les services.",
        ]
    for book in plan.books:
        lines += [
            "",
            "[[sources]]",
            f"service = {_toml(book.service)}",
            f"name = {_toml(book.name)}",
            f"path = {_toml(book.path)}",
        ]
        if book.central:
            lines.append("central = true  # ses lignes comptent au service de leur colonne Service")
    return "\n".join(lines) + "\n"
