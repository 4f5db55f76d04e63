"""Offline rules commands: `rules check`, `score`, `explain`."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime
from pathlib import Path

import typer
from rich.table import Table

from connector.cli.app import app
from connector.cli.common import cli_errors, console, err_console
from connector.errors import ConfigError
from connector.models import ScoreResult, utc
from connector.scoring import RulesModel, load_rules, score
from connector.scoring.jsonl import read_contacts

rules_app = typer.Typer(help="Check and share scoring models.", no_args_is_help=True)
app.add_typer(rules_app, name="rules")

NowOption = typer.Option(None, "--now", help="Score as of this ISO time (default: now).")


def _now(value: str | None) -> datetime:
    if not value:
        return datetime.now(UTC)
    try:
        return utc(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        raise ConfigError(f"--now {value!r} is not an ISO date-time", field="--now",
                          fix="write it like 2026-11-01T12:00:00Z") from None


@rules_app.command("check")
def rules_check(
    file: Path = typer.Argument(..., help="The rules YAML file."),
    config_dir: Path | None = typer.Option(None, "--config-dir", help="Client config folder "
                                           "whose crm.field_map fields count as known "
                                           "(default: CONNECTOR_CONFIG_DIR or config/clients)."),
) -> None:
    """Validate a rules file; errors name the file, line, rule, field and the fix.

    Rules naming an event type or field that no CRM adapter produces are warned about (one
    line each, with the nearest known name); they do not fail the check."""
    from connector.scoring.lint import known_fields, unknown_names

    with cli_errors():
        model = load_rules(file)
        console.print(summary(file, model), highlight=False, soft_wrap=True)
        text = file.read_text(encoding="utf-8")
        fields = known_fields(_client_fields(config_dir))
        for warning in unknown_names(model, file, text, fields=fields):
            err_console.print(f"[yellow]warning:[/] {warning}", highlight=False,
                              soft_wrap=True)


def _client_fields(config_dir: Path | None) -> set[str]:
    """Fields the clients' ``crm.field_map`` adds (best effort: a broken or missing client
    folder adds none; `rules check` is about the rules file)."""
    from connector.config import load_clients, load_settings

    try:
        folder = config_dir or load_settings().config_dir
        clients = load_clients(folder)
    except (ConfigError, ValueError, OSError):
        return set()
    return {name for client in clients.values() for name in client.crm.field_map}


def summary(source: str | Path, model: RulesModel) -> str:
    """The one-line summary of a valid model (`rules check`, `rules import`)."""
    kinds = {"field": 0, "event": 0}
    for rule in model.rules:
        kinds[rule.kind] += 1
    return (f"{source}: ok: {len(model.rules)} rules ({kinds['field']} fit, "
            f"{kinds['event']} behaviour), range {model.min_score}..{model.max_score}"
            f", warm at {model.warm_at}, tiers " + " / ".join(t.name for t in model.tiers))


def score_file(rules: Path, contacts: Path, now: datetime) -> list[ScoreResult]:
    model = load_rules(rules)
    results = [score(c, events, model, now) for c, events in read_contacts(contacts)]
    results.sort(key=lambda r: (-r.total, r.contact_id))
    return results


@app.command("score")
def score_cmd(
    contacts: Path = typer.Argument(..., help="JSON Lines file of contacts with events."),
    rules: Path = typer.Option(..., "--rules", help="The rules YAML file."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    now: str | None = NowOption,
) -> None:
    """Score contacts offline and rank them."""
    with cli_errors():
        results = score_file(rules, contacts, _now(now))
        if as_json:
            typer.echo(json.dumps([_result_dict(r) for r in results], indent=2))
            return
        table = Table(title=f"{len(results)} contacts scored with {rules}")
        for column in ("#", "contact", "score", "tier", "warm", "interests", "next change"):
            table.add_column(column)
        for i, r in enumerate(results, 1):
            interests = ", ".join(f"{k} {v}" for k, v in sorted(
                r.interests.items(), key=lambda kv: -kv[1]))
            table.add_row(str(i), r.contact_id, str(r.total), r.tier, "yes" if r.warm else "",
                          interests or "-",
                          r.next_change_at.isoformat() if r.next_change_at else "-")
        console.print(table)


@app.command("explain")
def explain_cmd(
    args: list[str] = typer.Argument(..., help="CONTACTS.jsonl ID (with --rules) or "
                                     "CONTACT_ID (with --client)."),
    rules: Path | None = typer.Option(None, "--rules", help="Rules file (offline)."),
    client: str | None = typer.Option(None, "--client", help="Client name (from state)."),
    now: str | None = NowOption,
    config_dir: Path | None = typer.Option(None, "--config-dir", help="Client config folder."),
) -> None:
    """Every point of one contact's score and why."""
    with cli_errors():
        if client:
            from connector.cli.explain_state import explain_from_state

            if len(args) != 1:
                raise ConfigError("give one CONTACT_ID with --client", field="explain",
                                  fix="connector explain --client NAME CONTACT_ID")
            explain_from_state(client, args[0], config_dir)
            return
        if rules is None or len(args) != 2:
            raise ConfigError("give --rules FILE CONTACTS.jsonl ID, or --client NAME ID",
                              field="explain", fix="see connector explain --help")
        contacts, wanted = Path(args[0]), args[1]
        model = load_rules(rules)
        for contact, events in read_contacts(contacts):
            if contact.id == wanted:
                print_explanation(score(contact, events, model, _now(now)))
                return
        raise ConfigError(f"no contact with id {wanted!r}", file=str(contacts),
                          fix="use an id from the file")


def print_explanation(r: ScoreResult) -> None:
    table = Table(title=f"contact {r.contact_id}: {r.total} points, {r.tier}"
                  + (", WARM" if r.warm else ""))
    for column in ("rule", "points", "topic", "evidence"):
        table.add_column(column, justify="right" if column == "points" else "left")
    for hit in r.explanation:
        table.add_row(hit.description, f"{hit.points:+d}", hit.topic or "",
                      ", ".join(hit.evidence))
    console.print(table)
    if r.raw_total != r.total:
        console.print(f"sum {r.raw_total}, clamped to {r.total}")
    if r.next_change_at:
        console.print(f"changes by time alone at {r.next_change_at.isoformat()}")


def _result_dict(r: ScoreResult) -> dict:
    return {
        "id": r.contact_id, "score": r.total, "raw": r.raw_total, "tier": r.tier,
        "warm": r.warm, "at_floor": r.at_floor, "interests": dict(r.interests),
        "next_change_at": r.next_change_at.isoformat() if r.next_change_at else None,
        "explanation": [{"rule": h.rule_id, "points": h.points, "topic": h.topic,
                         "evidence": list(h.evidence)} for h in r.explanation],
    }


# the changes per list the HTML page shows (--json lists them all)
HTML_ROWS = 1000


@rules_app.command("preview")
def rules_preview(
    new_rules: Path = typer.Argument(..., help="The new rules YAML file."),
    client: str = typer.Option(..., "--client", help="Client name (its contacts in state)."),
    html: Path | None = typer.Option(None, "--html", help="Also write the preview as one "
                                     "offline HTML page."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of tables."),
    top: int = typer.Option(50, "--top", min=1, help="Contacts to list per table."),
    now: str | None = NowOption,
    config_dir: Path | None = typer.Option(None, "--config-dir", help="Client config folder."),
) -> None:
    """What a new model would do to the client's stored contacts, before it goes live:
    score and tier shifts, who would be invited, unsubscribed or stop being warm, and
    which of those invites and unsubscribes the next sync holds (model change, run guard)
    and sends. Reads the state only: no CRM call, nothing written."""
    from connector.cli.common import output_path, pick, settings_and_clients, store_for
    from connector.preview.compare import preview
    from connector.preview.state import owners_from_state, pending_from_state, people_from_store
    from connector.scoring.lint import known_fields, unknown_names
    from connector.sync.model_change import ModelChange, model_hash

    with cli_errors():
        if html is not None:
            output_path(html, "--html")
        settings, clients = settings_and_clients(config_dir)
        conf = pick(clients, client)
        current = load_rules(conf.rules)
        new = load_rules(new_rules)
        fields = known_fields(conf.crm.field_map)
        text = new_rules.read_text(encoding="utf-8")
        for warning in unknown_names(new, new_rules, text, fields=fields):
            err_console.print(f"[yellow]warning:[/] {warning}", highlight=False,
                              soft_wrap=True)
        store = store_for(settings)
        at = _now(now)
        busy = (contextlib.nullcontext() if as_json
                else console.status(f"{client}: scoring the stored contacts with both models"))
        with busy:
            # what the next sync will hold: the change's doing (judged against the stored
            # models, as the sync does) and the run guard, with what earlier runs left
            result = preview(people_from_store(store, client), current, new, at, conf,
                             owners=owners_from_state(store, client),
                             current_source=str(conf.rules), new_source=str(new_rules),
                             model_change=ModelChange(store, client, model_hash(text)),
                             pending=pending_from_state(store, client),
                             keep=None if as_json else max(top, HTML_ROWS if html else 0))
        if result.contacts == 0:
            raise ConfigError(f"no contacts in state for client {client!r}", field="--client",
                              fix=f"run `connector sync --client {client}` first")
        if html is not None:
            from connector.preview.html import write_preview

            write_preview(result, html)
        if as_json:
            typer.echo(json.dumps(result.as_dict(), indent=2))
            return
        from connector.preview.text import renderables

        for part in renderables(result, top):
            if isinstance(part, str):
                console.print(part, highlight=False, soft_wrap=True)
            else:
                console.print(part)
        if html is not None:
            console.print(f"preview written to {html}", highlight=False, soft_wrap=True)
