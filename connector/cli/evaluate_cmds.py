"""`connector evaluate`: backtest the client's model against who became a customer."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from connector.cli.app import app
from connector.cli.common import (
    cli_errors,
    console,
    need_extra,
    output_path,
    pick,
    settings_and_clients,
    store_for,
)
from connector.cli.rules_cmds import _now
from connector.cli.sync_cmds import ConfigDir
from connector.errors import ConfigError

if TYPE_CHECKING:
    from connector.evaluate.evaluation import Evaluation



@app.command("evaluate")
def evaluate_cmd(
    client: str = typer.Option(..., "--client", help="Client name (its contacts in state)."),
    rules: Path | None = typer.Option(None, "--rules", help="What-if: a second rules file "
                                      "compared side by side with the client's."),
    as_of: str | None = typer.Option(None, "--as-of", help="Split date: score as of this "
                                     "ISO date, outcomes after it (default: the end of "
                                     "the data minus --horizon)."),
    horizon: str = typer.Option("30d", "--horizon", help="Outcome window after the split "
                                "when --as-of is not given, e.g. 30d or 8w."),
    learn: bool = typer.Option(False, "--learn", help="Fit weights from the outcomes "
                               "(logistic regression) and compare them on held-out "
                               "contacts."),
    export_learned: Path | None = typer.Option(None, "--export-learned", help="Write the "
                                               "learned model as a rules file (implies "
                                               "--learn)."),
    objective: str = typer.Option("f1", "--objective", help="What the threshold advice "
                                  "maximises: f1 or youden."),
    html: Path | None = typer.Option(None, "--html", help="Write a self-contained HTML "
                                     "report."),
    top: int = typer.Option(10, "--top", min=1, help="Leads to list with their journeys."),
    config_dir: Path | None = ConfigDir,
) -> None:
    """Backtest the scoring model: conversion per tier, lift, AUC, threshold advice."""
    need_extra("evaluate")
    from connector.evaluate.evaluation import evaluate_client
    from connector.evaluate.metrics import OBJECTIVES
    from connector.scoring import load_rules
    from connector.scoring.rules import parse_duration

    with cli_errors():
        if objective not in OBJECTIVES:
            raise ConfigError(f"unknown objective {objective!r}", field="--objective",
                              fix="use " + " or ".join(OBJECTIVES))
        try:
            window = parse_duration(horizon) or timedelta(days=30)
        except ValueError as exc:
            raise ConfigError(str(exc).split("; fix: ")[0], field="--horizon",
                              fix="write it like 30d or 8w") from None
        for target, option in ((html, "--html"), (export_learned, "--export-learned")):
            if target is not None:
                output_path(target, option)
        settings, clients = settings_and_clients(config_dir)
        conf = pick(clients, client)
        model = load_rules(conf.rules)
        other = load_rules(rules) if rules else None
        store = store_for(settings)
        with console.status(f"{client}: scoring the backtest"
                            + (" and fitting weights" if learn or export_learned else "")):
            result = evaluate_client(
                store, client, model, other=other, other_name=f"what-if ({rules.name})"
                if rules else "other", as_of=_now(as_of) if as_of else None, horizon=window,
                learn_weights=learn or export_learned is not None,
                objective=objective, top=top)  # type: ignore[arg-type]
        print_evaluation(result)
        if export_learned is not None and result.learned is not None:
            from connector.scoring.rules_file import save_rules

            save_rules(result.learned.model, export_learned, result.learned.model.description)
            say(f"learned model written to {export_learned} "
                f"(check it with `connector rules check {export_learned}`)")
        if html is not None:
            from connector.evaluate.html import write_report

            write_report(result, html)
            say(f"report written to {html}")


def print_evaluation(result: Evaluation) -> None:
    """The evaluation as tables and one-line verdicts."""
    d = result.data
    n, k = len(d.cases), d.positives
    say(
        f"[bold]{result.client}[/]: {n:,} contacts scored as of {d.as_of:%Y-%m-%d}; "
        f"{k:,} became customers by {d.end:%Y-%m-%d} ({k / n:.1%})")
    if d.left_out:
        say("left out: " + ", ".join(f"{v:,} {why}"
                                     for why, v in sorted(d.left_out.items())))
    if k == 0:
        say("[yellow]no contact became a customer after the split: AUC and lift "
            "need outcomes; try an earlier --as-of[/]")
    models = result.models
    table = Table(title="the models on the same contacts")
    table.add_column("measure")
    for m in models:
        table.add_column(m.name, justify="right")
    rows = [
        ("AUC (1.0 = perfect ranking, 0.5 = chance)", lambda m: _f(m.auc, "{:.3f}")),
        ("lift of the top 10 %", lambda m: _f(m.top_decile_lift, "{:.2f}x")),
        ("warm threshold", lambda m: str(m.model.warm_at)),
        ("flagged warm", lambda m: f"{m.at_warm.flagged:,}"),
        ("precision at warm (warm who bought)", lambda m: f"{m.at_warm.precision:.1%}"),
        ("recall at warm (buyers flagged warm)", lambda m: f"{m.at_warm.recall:.1%}"),
        (f"best threshold ({result.objective})",
         lambda m: f"{m.best.score} (P {m.best.precision:.0%}, R {m.best.recall:.0%})"),
        ("at the floor (unsubscribed)",
         lambda m: f"{int((m.scores <= m.model.range.min).sum()):,}"),
    ]
    for label, cell in rows:
        table.add_row(label, *[cell(m) for m in models])
    console.print(table)
    for m in models:
        tiers = Table(title=f"conversion per tier: {m.name}")
        for col in ("tier", "contacts", "became customers", "rate"):
            tiers.add_column(col, justify="left" if col == "tier" else "right")
        for t in m.tiers:
            tiers.add_row(t.name, f"{t.contacts:,}", f"{t.converted:,}", f"{t.rate:.1%}")
        console.print(tiers)
        advice = m.best
        if advice.score != m.model.warm_at:
            say(
                f"advice: a warm threshold of {advice.score} instead of {m.model.warm_at} "
                f"would have given {result.objective} {advice.objective:.3f} instead of "
                f"{m.at_warm.objective:.3f} ({advice.flagged:,} warm, precision "
                f"{advice.precision:.0%}, recall {advice.recall:.0%})")
        else:
            say(f"advice: the warm threshold {m.model.warm_at} is already the best "
                f"for {result.objective}")
    current = result.current
    sep = Table(title="rules that separate customers from the rest (current model)")
    for col in ("rule", "fires for buyers", "fires for others", "separation"):
        sep.add_column(col, justify="left" if col == "rule" else "right")
    for s in [s for s in current.rules if s.fired][:8]:
        sep.add_row(s.description, f"{s.share_customers:.0%}", f"{s.share_others:.0%}",
                    f"{s.separation:+.0%}")
    console.print(sep)
    never = current.never_fired
    if never:
        say("never fired: " + ", ".join(s.rule_id for s in never))
    if result.learned is not None:
        learned = result.learned
        say(
            f"[bold]learned weights[/] (trained on {learned.train_size:,}, held out "
            f"{learned.holdout_size:,} with {learned.holdout_positives:,} buyers): held-out "
            f"AUC current {_f(learned.auc_current, '{:.3f}')}, learned rules "
            f"{_f(learned.auc_learned, '{:.3f}')} (logistic regression "
            f"{_f(learned.auc_logistic, '{:.3f}')})")
        say(f"verdict: {learned.verdict()}")
        if learned.dropped:
            say("dropped (weight rounds to 0): " + ", ".join(learned.dropped))


def say(text: str) -> None:
    """One line of prose: never wrapped mid-sentence, so it greps and copies whole."""
    console.print(text, highlight=False, soft_wrap=True)


def _f(value: float | None, fmt: str) -> str:
    return "-" if value is None else fmt.format(value)
