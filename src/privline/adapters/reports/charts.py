"""The statement's charts, drawn with matplotlib as SVG.

Figures are built without pyplot (no global state, safe in a server) and saved with
fixed metadata and id salt, so the same statement always gives the same drawings.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

RECORDED, PRIVATE, DENIED = "#2b4c7e", "#3a8d5d", "#9a9a9a"
ALERT, BACKLOG = "#b3261e", "#d08c2b"


def _figure(width: float = 6.4, height: float = 2.6) -> Any:
    import matplotlib

    matplotlib.rcParams.update({
        "svg.hashsalt": "privline-statement",
        "font.family": "DejaVu Sans",
        "font.size": 8,
        "axes.spines.top": False,
        "axes.spines.right": False,
    })
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def _svg(fig: Any) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": "privline"})
    return buf.getvalue()


def _labels(months: Sequence[str]) -> list[str]:
    names = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
             "Dec"]
    return [f"{names[int(m[5:7]) - 1]} {m[:4]}" for m in months]


def calls_by_mode(by_month: Sequence[Mapping[str, Any]]) -> str:
    """Stacked bars: recorded, private and refused calls in each month."""
    fig = _figure()
    ax = fig.subplots()
    months = _labels([str(m["id"]) for m in by_month])
    bottom = [0] * len(months)
    for mode, colour, label in (("recorded", RECORDED, "recorded"),
                                ("private", PRIVATE, "private"),
                                ("denied", DENIED, "refused")):
        values = [int(m[mode]) for m in by_month]
        ax.bar(months, values, bottom=bottom, color=colour, label=label, width=0.6)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    ax.set_ylabel("calls")
    ax.set_title("Calls by mode, per month")
    ax.legend(frameon=False, ncols=3, loc="upper left", bbox_to_anchor=(0, -0.12))
    ax.yaxis.get_major_locator().set_params(integer=True)
    return _svg(fig)


def privileged(by_month: Sequence[Mapping[str, Any]]) -> str:
    """Calls to privileged numbers per month beside how many of them were recorded."""
    fig = _figure()
    ax = fig.subplots()
    months = _labels([str(m["id"]) for m in by_month])
    xs = list(range(len(months)))
    calls = [int(m["calls"]) for m in by_month]
    recorded = [int(m["recorded"]) for m in by_month]
    ax.bar([x - 0.2 for x in xs], calls, width=0.4, color=PRIVATE,
           label="calls to privileged numbers")
    ax.bar([x + 0.2 for x in xs], recorded, width=0.4, color=ALERT, label="of them recorded")
    for x, r in zip(xs, recorded, strict=True):
        ax.annotate(str(r), (x + 0.2, r), ha="center", va="bottom", fontsize=7,
                    color=ALERT, xytext=(0, 1), textcoords="offset points")
    ax.set_xticks(xs, months)
    ax.set_ylabel("calls")
    ax.set_title("Privileged calls and recordings of them")
    ax.legend(frameon=False, ncols=2, loc="upper left", bbox_to_anchor=(0, -0.12))
    ax.yaxis.get_major_locator().set_params(integer=True)
    return _svg(fig)


def registry(by_month: Sequence[Mapping[str, Any]]) -> str:
    """Protected entries (line) and pending requests (bars) at each month's end."""
    fig = _figure()
    ax = fig.subplots()
    labels = [str(m["id"])[:10] for m in by_month]
    xs = list(range(len(labels)))
    ax.plot(xs, [int(m["protected"]) for m in by_month], color=RECORDED, marker="o",
            label="protected entries")
    ax.set_ylabel("protected entries")
    ax.set_xticks(xs, labels)
    ax2 = ax.twinx()
    ax2.bar(xs, [int(m["pending"]) for m in by_month], width=0.4, color=BACKLOG, alpha=0.8,
            label="pending requests")
    ax2.set_ylabel("pending requests")
    ax2.spines["right"].set_visible(True)
    ax2.yaxis.get_major_locator().set_params(integer=True)
    ax.set_zorder(ax2.get_zorder() + 1)
    ax.patch.set_visible(False)
    ax.set_title("Registry size and backlog (at each month's end)")
    handles = ax.get_legend_handles_labels()[0] + ax2.get_legend_handles_labels()[0]
    fig.legend(handles=handles, frameon=False, ncols=2, loc="outside lower left")
    return _svg(fig)
