"""The Qual-e-pref référentiel of the seed prefecture: its two modules and 23 engagements.

The consolidated view lists every one of them, evaluated or not (docs/contract.md §4); the
demo and ``init`` write them into a new self-assessment. A module of a sheet is the seed's
when its text names its number (« Module 1 », « Module 1 : Relations générales… »).
"""

from __future__ import annotations

import re

from qep_sync.text import fold

MODULES = {
    1: "Module 1 : Relations générales avec les usagers",
    2: "Module 2 : Délivrance des CNI-passeports",
}
# (module, n°, engagement) as the quality policy words them.
ENGAGEMENTS: tuple[tuple[int, int, str], ...] = (
    (1, 1, "Nous vous informons sur les conditions de fonctionnement de nos services"),
    (1, 2, "Un accueil attentif et courtois dans le respect mutuel quel que soit le canal"),
    (1, 3, "A votre écoute pour progresser"),
    (1, 4, "Nous formons nos agents pour améliorer notre qualité de service"),
    (1, 5, "Nous vous orientons vers le bon service et vous prenons en charge"),
    (1, 6, "Nous veillons au confort de nos espaces d'accueil et d'attente"),
    (1, 7, "Nous veillons à limiter votre attente en adaptant notre organisation"),
    (1, 8, "Un serveur vocal interactif local, s'il a été mis en place, vous informe de manière "
           "simple et vous met en relation avec un agent"),
    (1, 9, "Nous vous informons de la mise à disposition d'un serveur vocal interactif national "
           "« 34 00 » dédié aux démarches sur les titres (hors étrangers)"),
    (1, 10, "Nous répondons à tous vos appels de manière attentive et efficace en limitant au "
            "maximum votre temps d'attente"),
    (1, 11, "Nous facilitons votre navigation et l'accès aux informations actualisées sur notre "
            "site internet"),
    (1, 12, "Nous vous délivrons une information administrative numérique fiable"),
    (1, 13, "Nous facilitons vos démarches en ligne grâce à une offre de service numérique"),
    (1, 14, "Plus particulièrement, nous facilitons vos démarches en ligne sur les demandes "
            "de titres"),
    (1, 15, "Si vous n'avez pas d'accès à internet pour réaliser vos démarches, nous mettons à "
            "votre disposition dans nos locaux un point numérique sécurisé"),
    (1, 16, "Nos courriers et courriels sont compréhensibles et complets"),
    (1, 17, "Nous vous répondons dans un délai annoncé et maîtrisé"),
    (1, 18, "Nous assurons la traçabilité de vos courriers/courriels de demande d'informations "
            "pour réduire nos délais"),
    (1, 19, "Nous communiquons de manière active sur au moins un réseau social "
            "(Facebook et/ou Twitter)"),
    (1, 20, "Nous vous garantissons la fiabilité des informations que nous diffusons sur les "
            "réseaux sociaux"),
    (2, 21, "Vous êtes contacté en cas d'incomplétude de votre dossier"),
    (2, 22, "Nous nous organisons pour délivrer vos titres dans un délai raisonnable"),
    (2, 23, "Une délivrance sécurisée des titres grâce à une lutte contre la fraude organisée"),
)  # fmt: skip

_MODULE_NUMBER = re.compile(r"^module\s*(\d+)\b")


def seed_module(text: object) -> int | None:
    """The seed module a sheet's « Module » text names, if it is one of the seed's."""
    m = _MODULE_NUMBER.match(fold(str(text)))
    number = int(m.group(1)) if m else None
    return number if number in MODULES else None


# What supports an engagement in the audit pack (docs/contract.md §8). The trackers name the
# engagement of an action (its « Engagement » column) and of a self-assessment; documents,
# trainings and indicators do not, so these tables of the seed's référentiel say which
# engagements a document type, a post and an indicator's name bear on. A quality lead can
# read them in docs/guide-referent.md.
DOCUMENT_TYPE_ENGAGEMENTS: dict[str, tuple[int, ...]] = {
    "Charte": (1, 2),
    "Affichage": (1, 6),
    "Guide d'accueil": (2, 4, 5),
    "Fiche de procédure": (5, 18),
    "Courrier type": (16, 17),
}
TRAINING_ENGAGEMENTS: tuple[int, ...] = (4,)  # every training: « Nous formons nos agents »
POST_ENGAGEMENTS: dict[str, tuple[int, ...]] = {
    "Accueil physique": (2, 5),
    "Accueil téléphonique": (10,),
    "Titres": (14, 22, 23),
}
# A word of an indicator's name (folded) -> the engagements it measures.
INDICATOR_ENGAGEMENTS: tuple[tuple[str, tuple[int, ...]], ...] = (
    ("decroche", (10,)),
    ("appel", (10,)),
    ("satisfaction", (3,)),
    ("attente", (7,)),
    ("point numerique", (15,)),
    ("reseaux sociaux", (19,)),
    ("courriel", (17, 18)),
    ("reponse", (17,)),
    ("incomplet", (21,)),
    ("passeport", (22,)),
    ("cni", (22,)),
    ("site internet", (11,)),
)


def document_engagements(kind: object) -> tuple[int, ...]:
    return next((v for k, v in DOCUMENT_TYPE_ENGAGEMENTS.items() if fold(k) == fold(kind)), ())


def training_engagements(post: object) -> tuple[int, ...]:
    extra = next((v for k, v in POST_ENGAGEMENTS.items() if fold(k) == fold(post)), ())
    return TRAINING_ENGAGEMENTS + extra


def indicator_engagements(name: object) -> tuple[int, ...]:
    text = fold(name)
    found: list[int] = []
    for word, numbers in INDICATOR_ENGAGEMENTS:
        if word in text:
            found += [n for n in numbers if n not in found]
    return tuple(found)
