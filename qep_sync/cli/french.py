"""click's own texts in French: the help and version options, « Utilisation : », the headings
of ``--help``, and every usage error (« option inconnue », « argument manquant »…).

click looks each of its texts up through ``gettext`` at the moment it shows it (its modules
call ``_()`` and ``ngettext()``, bound at import); ``install`` points those names at the
catalog below, so that no locale or ``.mo`` file is needed and the machine's language does
not matter. A text missing from the catalog stays as click wrote it (a test lists them).
click quotes names with ``repr`` (``'--today'``, ``'text', 'json'``): the values put into a
French text get guillemets instead (« --today »), never quotes inside guillemets.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import wraps
from typing import Any

import click.core
import click.decorators
import click.exceptions
import click.formatting
import click.parser
import click.termui
import click.types
import click.utils

CATALOG: dict[str, str] = {
    # help, version, usage
    "Show this message and exit.": "Afficher ce message et quitter.",
    "Show the version and exit.": "Afficher la version et quitter.",
    "%(prog)s, version %(version)s": "%(prog)s, version %(version)s",
    "Usage:": "Utilisation :",
    # headings: click adds the colon, French wants a space before it (« Options : »)
    "Options": "Options ",
    "Commands": "Commandes ",
    "Positional arguments": "Arguments ",
    "default: {default}": "défaut : {default}",
    "required": "obligatoire",
    "env var: {var}": "variable d'environnement : {var}",
    "deprecated": "obsolète",
    "(dynamic)": "(dynamique)",
    "Aborted!": "Interrompu.",
    "Do you want to continue?": "Continuer ?",
    "Confirm the action without prompting.": "Confirmer sans poser la question.",
    "Repeat for confirmation": "Répétez pour confirmer",
    "Press any key to continue...": "Appuyez sur une touche pour continuer…",
    # errors
    "Error: {message}": "Erreur : {message}",
    "Error: invalid input": "Erreur : saisie invalide",
    "Error: The two entered values do not match.": "Erreur : les deux saisies diffèrent.",
    "Try '{command} {option}' for help.": "Aide : {command} {option}",
    "No such option {name!r}.": "option inconnue « {name} ».",
    "No such command {name!r}.": "commande inconnue « {name} ».",
    "Missing command.": "commande manquante.",
    "Missing argument": "argument manquant",
    "Missing option": "option manquante",
    "Missing parameter": "paramètre manquant",
    "Missing {param_type}": "{param_type} manquant",
    "Missing parameter: {param_name}": "paramètre manquant : {param_name}",
    "Invalid value for {param_hint}: {message}": "valeur invalide pour {param_hint} : {message}",
    "Invalid value: {message}": "valeur invalide : {message}",
    "Option {name!r} does not take a value.": "l'option « {name} » ne prend pas de valeur.",
    "Argument {name!r} takes {nargs} values.": "l'argument « {name} » prend {nargs} valeurs.",
    "Invalid start character for option ({option})": "option mal écrite ({option})",
    "Value must be an iterable.": "une liste de valeurs est attendue.",
    "unknown error": "erreur inconnue",
    "Could not open file {filename!r}: {message}": "ouverture impossible de « {filename} » : {message}",
    # values of the types
    "file": "fichier",
    "directory": "dossier",
    "path": "chemin",
    "{name} {filename!r} does not exist.": "{name} introuvable : « {filename} ».",
    "{name} {filename!r} is a file.": "« {filename} » est un fichier, un dossier est attendu.",
    "{name} {filename!r} is a directory.": "« {filename} » est un dossier, un fichier est attendu.",
    "{name} {filename!r} is not readable.": "{name} illisible (droits) : « {filename} ».",
    "{name} {filename!r} is not writable.": "{name} non modifiable (droits) : « {filename} ».",
    "{name} {filename!r} is not executable.": "« {filename} » n'est pas exécutable.",
    "{value} is not in the range {range}.": "{value} n'est pas dans l'intervalle {range}.",
    "{value!r} is not a valid {number_type}.": "« {value} » n'est pas un nombre valide.",
    "{value!r} is not a valid boolean. Recognized values: {states}":
        "« {value} » n'est ni vrai ni faux (valeurs reconnues : {states}).",
    "{value!r} is not a valid UUID.": "« {value} » n'est pas un UUID valide.",
    "Choose from:\n\t{choices}": "Valeurs possibles :\n\t{choices}",
    "Choice({choices})": "Choix({choices})",
}  # fmt: skip
PLURALS: dict[tuple[str, str], tuple[str, str]] = {
    ("Got unexpected extra argument ({args})", "Got unexpected extra arguments ({args})"):
        ("argument en trop ({args})", "arguments en trop ({args})"),
    ("Did you mean {possibility}?", "(Did you mean one of: {possibilities}?)"):
        ("Vouliez-vous dire {possibility} ?", "(Vouliez-vous dire l'une de celles-ci : "
                                              "{possibilities} ?)"),
    ("Option {name!r} requires an argument.", "Option {name!r} requires {nargs} arguments."):
        ("l'option « {name} » attend une valeur.", "l'option « {name} » attend {nargs} valeurs."),
    ("{value!r} is not {choice}.", "{value!r} is not one of {choices}."):
        ("« {value} » n'est pas {choice}.", "« {value} » n'est pas l'une des valeurs possibles : "
                                            "{choices}."),
    ("{len_type} values are required, but {len_value} was given.",
     "{len_type} values are required, but {len_value} were given."):
        ("{len_type} valeurs attendues, {len_value} donnée.",
         "{len_type} valeurs attendues, {len_value} données."),
    ("{value!r} does not match the format {format}.",
     "{value!r} does not match the formats {formats}."):
        ("« {value} » ne correspond pas au format {format}.",
         "« {value} » ne correspond à aucun des formats {formats}."),
    ("Takes {nargs} values but 1 was given.", "Takes {nargs} values but {len} were given."):
        ("attend {nargs} valeurs, 1 donnée.", "attend {nargs} valeurs, {len} données."),
}  # fmt: skip
_REPR = re.compile(r"'([^']*)'")
_KEEP = {"message"}  # a sentence of its own (French already): its apostrophes stay


class _Template(str):
    """A French text whose values lose click's ``repr`` quotes: « --today », not '--today'."""

    def format(self, *args: Any, **kwargs: Any) -> str:
        return str.format(self, *args, **{k: _guillemets(k, v) for k, v in kwargs.items()})


def _guillemets(key: str, value: Any) -> Any:
    if key in _KEEP or not isinstance(value, str) or not value.startswith("'"):
        return value
    return _REPR.sub(r"« \1 »", value)


def gettext(message: str) -> str:
    """click's ``_()``: the French text, or click's own when the catalog has none."""
    french = CATALOG.get(message)
    return message if french is None else _Template(french)


def ngettext(singular: str, plural: str, n: int) -> str:
    """click's ``ngettext()``: French counts 0 and 1 in the singular."""
    french = PLURALS.get((singular, plural))
    if french is None:
        return singular if n == 1 else plural
    return _Template(french[0] if n < 2 else french[1])


_MODULES = (click.core, click.decorators, click.exceptions, click.formatting, click.parser,
            click.termui, click.types, click.utils)  # fmt: skip


def _hint_in_guillemets(original: Callable[..., str]) -> Callable[..., str]:
    """An option or argument named in an error the French way: « --today », « DOSSIER »."""

    @wraps(original)
    def hint(self: click.Parameter, ctx: click.Context | None) -> str:
        return _REPR.sub(r"« \1 »", original(self, ctx))

    hint.french = True  # type: ignore[attr-defined]
    return hint


def install() -> None:
    """Make click speak French for the whole process (idempotent). Called when this module is
    first imported, before any command builds its options (click translates some words, the
    names of path types, when a parameter is made)."""
    for module in _MODULES:
        if hasattr(module, "_"):
            module._ = gettext  # type: ignore[attr-defined]
        if hasattr(module, "ngettext"):
            module.ngettext = ngettext  # type: ignore[attr-defined]
    for cls in (click.core.Parameter, click.core.Option, click.core.Argument):
        method = cls.__dict__.get("get_error_hint")
        if method is not None and not getattr(method, "french", False):
            cls.get_error_hint = _hint_in_guillemets(method)  # type: ignore[method-assign]


install()
