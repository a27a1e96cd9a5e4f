"""The bilan's charts as PNG images (matplotlib, headless), drawn from its tables.

Each function takes a ``ViewTable`` of ``yearly.bilan`` and returns PNG bytes: the document
shows the same figures as its tables. matplotlib is imported here only, and only when a
bilan is written (``qep-sync --help`` never loads it).
"""

from __future__ import annotations

import io
from typing import Any

from qep_sync.jobs.view import ViewTable

BLUE, ORANGE, GREEN, RED, GREY = "#2F5597", "#ED7D31", "#70AD47", "#C00000", "#A5A5A5"
LEVEL_COLOURS = {"Conforme": GREEN, "Partiellement conforme": ORANGE, "Non conforme": RED}


def _figure(width: float = 16, height: float = 7) -> Any:
    import matplotlib

    matplotlib.use("Agg")  # no display on a server
    from matplotlib import pyplot

    fig, ax = pyplot.subplots(figsize=(width / 2.54, height / 2.54), dpi=150)
    ax.spines[["top", "right"]].set_visible(False)
    ax.tick_params(labelsize=7)
    return fig, ax


def _png(fig: Any) -> bytes:
    from matplotlib import pyplot

    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png")
    pyplot.close(fig)
    return buffer.getvalue()


def _percent_axis(ax: Any) -> None:
    from matplotlib.ticker import PercentFormatter

    ax.set_ylim(0, 1)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))


def letters_by_month(table: ViewTable) -> bytes:
    """Bars of letters received per month, and the line of % answered on time."""
    fig, ax = _figure()
    labels = [str(r[0]).split()[0][:4] for r in table.rows]
    ax.bar(labels, [r[1] for r in table.rows], color=BLUE, label="Reçus")
    ax.set_ylabel("Reçus", fontsize=7)
    rate = ax.twinx()
    rate.plot(labels, [r[4] for r in table.rows], color=ORANGE, marker="o",
              label="% dans le délai")  # fmt: skip
    _percent_axis(rate)
    rate.tick_params(labelsize=7)
    ax.set_title("Courriers reçus et part des réponses dans le délai, par mois", fontsize=9)
    bars, lines = ax.get_legend_handles_labels(), rate.get_legend_handles_labels()
    ax.legend(bars[0] + lines[0], bars[1] + lines[1], loc="lower left", fontsize=7,
              frameon=True, framealpha=0.9)  # fmt: skip
    return _png(fig)


def on_time_by_canal(table: ViewTable) -> bytes:
    fig, ax = _figure(height=6)
    rows = [r for r in table.rows if r[4] is not None]
    bars = ax.bar([r[0] for r in rows], [r[4] for r in rows], color=BLUE)
    ax.bar_label(bars, labels=[f"{r[4]:.0%}" for r in rows], fontsize=7)
    _percent_axis(ax)
    ax.set_title("Réponses dans le délai, par canal", fontsize=9)
    return _png(fig)


def levels(table: ViewTable) -> bytes:
    """How many engagements at each consolidated level."""
    counts: dict[str, int] = {}
    for r in table.rows:
        counts[r[3]] = counts.get(r[3], 0) + 1
    fig, ax = _figure(height=6)
    names = sorted(counts, key=lambda n: list(LEVEL_COLOURS).index(n) if n in LEVEL_COLOURS else 9)
    bars = ax.barh(names, [counts[n] for n in names],
                   color=[LEVEL_COLOURS.get(n, GREY) for n in names])  # fmt: skip
    ax.bar_label(bars, fontsize=7)
    ax.invert_yaxis()
    ax.set_title("Engagements par niveau consolidé", fontsize=9)
    return _png(fig)


def actions(table: ViewTable) -> bytes:
    """Actions by origin: done in the year, late, abandoned."""
    fig, ax = _figure(height=7)
    names = [str(r[0]) for r in table.rows]
    done = [r[2] for r in table.rows]
    late = [r[3] for r in table.rows]
    ax.barh(names, done, color=GREEN, label="Réalisées dans l'année")
    ax.barh(names, late, left=done, color=RED, label="En retard")
    ax.invert_yaxis()
    ax.legend(fontsize=7, frameon=False)
    ax.set_title("Actions par origine", fontsize=9)
    return _png(fig)


def anomalies(table: ViewTable) -> bytes:
    fig, ax = _figure(height=6)
    labels = [str(r[0]).split()[0] for r in table.rows]
    ax.plot(labels, [r[1] for r in table.rows], color=RED, marker="o")
    ax.set_ylim(bottom=0)
    ax.set_title("Erreurs relevées dans les tableaux, fin de mois", fontsize=9)
    return _png(fig)
