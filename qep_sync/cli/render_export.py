"""The exports as text: what ``export pilote`` wrote, the sources it could not read, its
warnings (French, one line each)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from qep_sync.text import plural

if TYPE_CHECKING:
    from qep_sync.jobs.pilote import PiloteExport


def render_pilote(result: PiloteExport) -> str:
    lines = [
        f"Export PILOTE pour {result.month_name} (zone {result.zone}) : "
        f"{plural(len(result.rows), 'ligne écrite', 'lignes écrites')} dans {result.path}"
    ]
    for row in result.rows:
        lines.append(f"  {row.mapping.identifiant} {row.mapping.type_valeur} {row.shown_value} : "
                     f"« {row.indicator} » ({row.service})")  # fmt: skip
    for source, reason in result.failed_sources:
        lines.append(f"Erreur : {source} : {reason} (ses indicateurs manquent à l'export)")
    lines.extend(f"Attention : {warning}" for warning in result.warnings)
    return "\n".join(lines) + "\n"
