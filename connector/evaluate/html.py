"""The evaluation as one self-contained HTML page: inline CSS and SVG charts, no script,
no external request, so it opens offline and can be mailed to a client."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from connector.evaluate.evaluation import Evaluation, Lead
from connector.evaluate.metrics import OBJECTIVES, ModelReport

TIER_COLOURS = ("#8aa4c8", "#f2c14e", "#f08a4b", "#d1495b", "#7b2d8b", "#2e7d32")
EVENT_COLOURS = {"page_view": "#4c78a8", "email_open": "#72b7b2", "email_click": "#54a24b",
                 "form_submission": "#e45756", "download": "#f58518"}


@dataclass
class Bar:
    x: float
    y: float
    width: float
    height: float
    colour: str
    label: str
    value: str
    title: str


def render(result: Evaluation) -> str:
    env = Environment(loader=PackageLoader("connector.evaluate", "templates"),
                      autoescape=select_autoescape(["html", "j2"]), trim_blocks=True,
                      lstrip_blocks=True)
    template = env.get_template("report.html.j2")
    return template.render(
        r=result, d=result.data, generated=datetime.now(UTC),
        objective_text=OBJECTIVES[result.objective],
        distribution=distribution_chart(result.current),
        tier_chart=tier_chart(result.models),
        tier_colours={t.name: TIER_COLOURS[i % len(TIER_COLOURS)]
                      for i, t in enumerate(result.current.model.tiers)},
        journeys=[journey(lead) for lead in result.leads],
        event_colours=EVENT_COLOURS, pct=_pct, num=_num)


def write_report(result: Evaluation, path: Path) -> None:
    path.write_text(render(result), encoding="utf-8")


# ------------------------------------------------------------------------------ charts
WIDTH, HEIGHT, PAD = 640.0, 220.0, 30.0


def distribution_chart(report: ModelReport) -> dict[str, Any]:
    """Histogram of scores in 5-point bins, each bar in its tier's colour."""
    model = report.model
    lo, hi = model.range.min, model.range.max
    step = 5
    bins = list(range(lo, hi + 1, step))
    counts = [0] * len(bins)
    for s in report.scores:
        counts[min(int((s - lo) // step), len(bins) - 1)] += 1
    top = max(counts) or 1
    width = (WIDTH - 2 * PAD) / len(bins)
    colours = {t.name: TIER_COLOURS[i % len(TIER_COLOURS)] for i, t in enumerate(model.tiers)}
    bars = []
    for i, (start, n) in enumerate(zip(bins, counts, strict=True)):
        h = (HEIGHT - 2 * PAD) * n / top
        bars.append(Bar(x=PAD + i * width, y=HEIGHT - PAD - h, width=width - 1, height=h,
                        colour=colours[model.tier_for(start)], label=str(start), value=str(n),
                        title=f"{start}..{start + step - 1}: {n} contacts "
                              f"({model.tier_for(start)})"))
    return {"bars": bars, "width": WIDTH, "height": HEIGHT, "pad": PAD,
            "warm_x": PAD + (model.warm_at - lo) / step * width, "top": top}


def tier_chart(models: list[ModelReport]) -> dict[str, Any]:
    """Conversion rate per tier, one group of bars per tier and one bar per model."""
    groups = max(len(m.tiers) for m in models)
    top = max((t.rate for m in models for t in m.tiers), default=0) or 1.0
    group_w = (WIDTH - 2 * PAD) / groups
    bar_w = group_w * 0.8 / len(models)
    palette = ("#2f6690", "#d1495b", "#66a182")
    bars, labels = [], []
    for j, m in enumerate(models):
        for i, t in enumerate(m.tiers):
            h = (HEIGHT - 2 * PAD) * t.rate / top
            bars.append(Bar(x=PAD + i * group_w + group_w * 0.1 + j * bar_w,
                            y=HEIGHT - PAD - h, width=bar_w - 2, height=h,
                            colour=palette[j % len(palette)], label=t.name,
                            value=_pct(t.rate),
                            title=f"{m.name}, {t.name}: {t.converted} of {t.contacts} "
                                  f"became customers ({_pct(t.rate)})"))
    for i, t in enumerate(models[0].tiers):
        labels.append({"x": PAD + (i + 0.5) * group_w, "text": t.name})
    legend = [{"name": m.name, "colour": palette[j % len(palette)]}
              for j, m in enumerate(models)]
    return {"bars": bars, "labels": labels, "legend": legend, "width": WIDTH,
            "height": HEIGHT, "pad": PAD}


def journey(lead: Lead) -> dict[str, Any]:
    """The lead's events on a timeline; the ones that earned points are marked."""
    width, height, pad = 600.0, 70.0, 16.0
    events = lead.events
    dots = []
    if events:
        first, last = events[0].occurred_at, events[-1].occurred_at
        span = max((last - first).total_seconds(), 1.0)
        for e in events:
            rules = lead.earned.get(e.id, [])
            what = e.url or e.name or e.email_id or ""
            dots.append({
                "x": pad + (width - 2 * pad) * (e.occurred_at - first).total_seconds() / span,
                "y": 28 if rules else 48, "r": 6 if rules else 3.5,
                "colour": EVENT_COLOURS.get(e.type, "#999"), "earned": bool(rules),
                "title": f"{e.occurred_at:%Y-%m-%d %H:%M} {e.type} {what}"
                         + (f" - {'; '.join(rules)}" if rules else "")})
        start, end = f"{first:%Y-%m-%d}", f"{last:%Y-%m-%d}"
    else:
        start = end = ""
    earning = [e for e in events if e.id in lead.earned]
    return {"lead": lead, "dots": dots, "width": width, "height": height, "start": start,
            "end": end, "earning": earning}


def _pct(value: float) -> str:
    return f"{value:.1%}"


def _num(value: float | None, fmt: str = "{:.3f}") -> str:
    return "-" if value is None else fmt.format(value)
