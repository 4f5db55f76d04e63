"""The preview as one self-contained HTML page in the evaluation report's look (its style
sheet, colours and chart geometry): inline CSS and SVG, no script, no external request."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, Environment, PackageLoader, select_autoescape

from connector.evaluate.html import HEIGHT, PAD, TIER_COLOURS, WIDTH, Bar
from connector.preview.result import Preview

DROP, SAME, RISE = "#d1495b", "#9aa5b1", "#2e7d32"
CURRENT, NEW = "#8aa4c8", "#2f6690"
STEP = 5  # points per bin of the score distribution


def render(p: Preview) -> str:
    env = Environment(loader=ChoiceLoader([PackageLoader("connector.preview", "templates"),
                                           PackageLoader("connector.evaluate", "templates")]),
                      autoescape=select_autoescape(["html", "j2"]), trim_blocks=True,
                      lstrip_blocks=True)
    return env.get_template("preview.html.j2").render(
        p=p, generated=datetime.now(UTC), shift_chart=shift_chart(p),
        distribution=distribution_chart(p),
        tier_colours={name: TIER_COLOURS[i % len(TIER_COLOURS)]
                      for i, name in enumerate(p.new_tiers)})


def write_preview(p: Preview, path: Path) -> None:
    path.write_text(render(p), encoding="utf-8")


def shift_chart(p: Preview) -> dict[str, Any]:
    """Contacts per score-shift bin: drops red, unchanged grey, rises green."""
    rows = p.histogram()
    top = max((n for _, n in rows), default=0) or 1
    width = (WIDTH - 2 * PAD) / len(rows)
    bars = []
    for i, (label, n) in enumerate(rows):
        h = (HEIGHT - 2 * PAD) * n / top
        colour = SAME if label == "0" else (DROP if label.startswith(("<", "-")) else RISE)
        bars.append(Bar(x=PAD + i * width + width * 0.1, y=HEIGHT - PAD - h,
                        width=width * 0.8, height=h, colour=colour, label=label,
                        value=f"{n:,}", title=f"shift {label}: {n:,} contacts"))
    return {"bars": bars, "width": WIDTH, "height": HEIGHT, "pad": PAD, "top": top}


def distribution_chart(p: Preview) -> dict[str, Any]:
    """The score distribution under both models, side by side per 5-point bin."""
    lo = min(p.current.range_min, p.new.range_min)
    scores = [*p.scores_before, *p.scores_after]
    hi = max(scores, default=lo + STEP)
    bins = list(range(lo, hi + 1, STEP))

    def counts(scored: dict[int, int]) -> list[int]:
        out = [0] * len(bins)
        for s, n in scored.items():
            out[min(max(int((s - lo) // STEP), 0), len(bins) - 1)] += n
        return out

    series = ((p.current.name + " (current)", CURRENT, counts(p.scores_before)),
              (p.new.name + " (new)", NEW, counts(p.scores_after)))
    top = max(max(c) for _, _, c in series) or 1
    width = (WIDTH - 2 * PAD) / len(bins)
    bars = []
    for j, (name, colour, values) in enumerate(series):
        for i, (start, n) in enumerate(zip(bins, values, strict=True)):
            h = (HEIGHT - 2 * PAD) * n / top
            bars.append(Bar(x=PAD + i * width + j * width / 2, y=HEIGHT - PAD - h,
                            width=max(width / 2 - 1, 1), height=h, colour=colour,
                            label=str(start), value=str(n),
                            title=f"{name}: {n:,} contacts at {start}..{start + STEP - 1}"))

    def x_of(score: int) -> float:
        return PAD + (score - lo) / STEP * width

    return {"bars": bars, "width": WIDTH, "height": HEIGHT, "pad": PAD, "top": top,
            "labels": [{"x": x_of(b), "text": str(b)} for b in bins[::2]],
            "warm": [{"x": x_of(p.current.warm_at), "colour": CURRENT,
                      "text": f"warm at {p.current.warm_at} (current)"},
                     {"x": x_of(p.new.warm_at), "colour": NEW,
                      "text": f"warm at {p.new.warm_at} (new)"}],
            "legend": [{"name": name, "colour": colour} for name, colour, _ in series]}
