"""`connector actions list|retry|resolve|release|discard`: see and settle the outbox by hand.

"failed" entries were not sent (5xx, or not sent over the whole retry window): once the
cause is fixed, `retry` queues them again. "unknown" entries may have gone out (the
connection broke after the message was handed over, or a run died mid-send): a person
checks the mailbox and says which, with `resolve --sent` or `resolve --not-sent`.
"held" entries wait for a person because a model change alone caused them or the run guard
stopped a mass action: `release` sends them, `discard` drops them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path

import typer

from connector.cli.app import app
from connector.cli.common import cli_errors, console, pick, settings_and_clients, store_for
from connector.errors import ConfigError
from connector.store.base import OutboxEntry

actions_app = typer.Typer(help="See, retry and settle invites and other actions.",
                          no_args_is_help=True)
app.add_typer(actions_app, name="actions")

ClientOption = typer.Option(..., "--client", help="Client name (its config file's stem).")
IdOption = typer.Option(None, "--id", help="Outbox entry id (repeatable; see `actions list`).")
ConfigDir = typer.Option(None, "--config-dir", help="Folder of client YAML files "
                         "(default: CONNECTOR_CONFIG_DIR or config/clients).")
STATES = ("pending", "held", "queued", "sending", "sent", "failed", "unknown", "discarded")


@actions_app.command("list")
def list_actions(
    client: str = ClientOption,
    status: list[str] = typer.Option(None, "--status", help="Only these states (repeatable): "
                                     + ", ".join(STATES) + ". Default: all but sent."),
    show_all: bool = typer.Option(False, "--all", help="Include sent entries."),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON."),
    config_dir: Path | None = ConfigDir,
) -> None:
    """Entries with their state, attempts, last error and next attempt."""
    with cli_errors():
        store, name = _open(client, config_dir)
        for value in status or []:
            if value not in STATES:
                raise ConfigError(f"unknown state {value!r}", field="--status",
                                  fix="use one of " + ", ".join(STATES))
        wanted = status or (None if show_all else [s for s in STATES
                                                   if s not in ("sent", "discarded")])
        entries = store.outbox(name, wanted)
        if as_json:
            console.print_json(json.dumps([_as_dict(e) for e in entries], default=str))
            return
        shown = "all" if wanted is None else ", ".join(wanted)
        _say(f"{name}: {len(entries)} action(s) ({shown})")
        for e in entries:
            _say(f"  id {e.id}: {e.kind} for contact {e.contact_id} ({e.dedupe_key}): "
                 f"{e.status}, {e.attempts} attempt(s), updated {_when(e.updated_at)}")
            if e.status == "pending":
                _say(f"      next attempt: {_next(e)}")
            if e.status in ("held", "queued") and e.hold_reason:
                _say(f"      {e.status}: {e.hold_reason}")
            if e.status == "queued" and e.next_attempt_at:
                _say(f"      waits until: {_when(e.next_attempt_at)}")
            if e.last_error and e.status != "sent":
                _say(f"      last error: {e.last_error}")
            if e.detail and e.status == "sent":
                _say(f"      {e.detail}")
        _hints(name, entries)


@actions_app.command("retry")
def retry(
    client: str = ClientOption,
    ids: list[int] = IdOption,
    all_failed: bool = typer.Option(False, "--all-failed", help="Every failed entry."),
    config_dir: Path | None = ConfigDir,
) -> None:
    """Queue "failed" entries again (sent by the next sync, with a fresh retry window)."""
    with cli_errors():
        store, name = _open(client, config_dir)
        targets = _targets(store, name, ids, all_failed, "failed", "--all-failed")
        _apply(name, targets, "retry", lambda e, now: store.requeue_failed(name, e.id, now),
               lambda e: f"requeued {e.kind} for contact {e.contact_id} (id {e.id}); the "
                         "next sync sends it")


@actions_app.command("resolve")
def resolve(
    client: str = ClientOption,
    ids: list[int] = IdOption,
    all_unknown: bool = typer.Option(False, "--all-unknown", help="Every unknown entry."),
    sent: bool = typer.Option(False, "--sent", help="It did arrive: record it as sent."),
    not_sent: bool = typer.Option(False, "--not-sent", help="It did not arrive: send it "
                                  "again with the next sync."),
    config_dir: Path | None = ConfigDir,
) -> None:
    """Settle "unknown" entries after checking the mailbox: --sent or --not-sent."""
    with cli_errors():
        if sent == not_sent:
            raise ConfigError("say what happened: give exactly one of --sent or --not-sent",
                              field="--sent/--not-sent", fix="check the recipient's mailbox "
                              "(search for the entry's Message-ID), then choose")
        store, name = _open(client, config_dir)
        targets = _targets(store, name, ids, all_unknown, "unknown", "--all-unknown")
        outcome = "recorded as sent" if sent else "requeued; the next sync sends it"
        _apply(name, targets, "resolve",
               lambda e, now: store.resolve_unknown(name, e.id, sent, now),
               lambda e: f"{e.kind} for contact {e.contact_id} (id {e.id}) {outcome}")


@actions_app.command("release")
def release(
    client: str = ClientOption,
    ids: list[int] = IdOption,
    config_dir: Path | None = ConfigDir,
) -> None:
    """Release "held" entries (held by a model change or the run guard): the next sync
    sends them. Without --id, every held entry of the client."""
    _settle_held(client, ids, config_dir, discard=False)


@actions_app.command("discard")
def discard(
    client: str = ClientOption,
    ids: list[int] = IdOption,
    config_dir: Path | None = ConfigDir,
) -> None:
    """Drop "held" entries for good (e.g. a broken rule planned them): never sent.
    Without --id, every held entry of the client."""
    _settle_held(client, ids, config_dir, discard=True)


def _settle_held(client: str, ids: list[int] | None, config_dir: Path | None, *,
                 discard: bool) -> None:
    with cli_errors():
        store, name = _open(client, config_dir)
        if ids:
            targets = _targets(store, name, ids, False, "held", "--id")
        else:
            targets = store.outbox(name, ["held"])
        settle = store.discard_held if discard else store.release_held
        outcome = "discarded; it is never sent" if discard else "the next sync sends it"
        verb = "discard" if discard else "release"
        _apply(name, targets, verb, lambda e, now: settle(name, e.id, now),
               lambda e: f"{'discarded' if discard else 'released'} {e.kind} for contact "
                         f"{e.contact_id} (id {e.id}, held: {e.hold_reason or '-'}); "
                         f"{outcome}")


def _apply(name: str, targets: list[OutboxEntry], verb: str,
           act: Callable[[OutboxEntry, datetime], bool],
           said: Callable[[OutboxEntry], str]) -> None:
    """Carry out ``act`` on each target; say what was done, or why an entry was refused
    (it changed state meanwhile), then the count."""
    now = datetime.now(UTC)
    done = 0
    for entry in targets:
        if act(entry, now):
            done += 1
            _say(said(entry))
        else:
            _say(_refusal(name, entry, verb))
    _done(done, targets)


def _open(client: str, config_dir: Path | None):
    settings, clients = settings_and_clients(config_dir)
    pick(clients, client)
    return store_for(settings), client


def _targets(store, name: str, ids: list[int] | None, every: bool, state: str,
             flag: str) -> list[OutboxEntry]:
    if bool(ids) == every:
        raise ConfigError(f"say which entries: give --id (repeatable) or {flag}",
                          field=f"--id/{flag}", fix=f"see the ids with `connector actions "
                          f"list --client {name}`")
    entries = store.outbox(name)
    if every:
        return [e for e in entries if e.status == state]
    by_id = {e.id: e for e in entries}
    missing = [str(i) for i in ids or [] if i not in by_id]
    if missing:
        raise ConfigError(f"no outbox entry {', '.join(missing)} for client {name!r}",
                          field="--id", fix=f"see the ids with `connector actions list "
                          f"--client {name} --all`")
    return [by_id[i] for i in ids or []]


def _refusal(name: str, entry: OutboxEntry, verb: str) -> str:
    head = f"left as is: {entry.kind} for contact {entry.contact_id} (id {entry.id}) is " \
           f"{entry.status}"
    if entry.status == "unknown":
        return (f"{head}: it may have been sent; check the mailbox, then run `connector "
                f"actions resolve --client {name} --id {entry.id} --sent` or `--not-sent`")
    if entry.status == "failed":
        return f"{head}; requeue it with `connector actions retry --client {name} " \
               f"--id {entry.id}`"
    return f"{head}; nothing to {verb}"


def _done(done: int, targets: list[OutboxEntry]) -> None:
    if not targets:
        _say("nothing to do: no entry in that state")
    elif done < len(targets):
        raise typer.Exit(1)


def _hints(name: str, entries: list[OutboxEntry]) -> None:
    counts = {s: sum(1 for e in entries if e.status == s) for s in STATES}
    if counts["unknown"]:
        _say(f"{counts['unknown']} unknown: check the mailbox (Message-ID), then "
             f"`connector actions resolve --client {name} --id N --sent` or "
             "`--not-sent` (or --all-unknown)")
    if counts["failed"]:
        _say(f"{counts['failed']} failed: fix the cause in the last error, then "
             f"`connector actions retry --client {name} --id N` (or --all-failed)")
    if counts["pending"]:
        _say(f"{counts['pending']} pending: the next sync sends them (at their next "
             "attempt time)")
    if counts["held"]:
        _say(f"{counts['held']} held (a model change or the run guard): review them, then "
             f"`connector actions release --client {name}` to send them or `connector "
             f"actions discard --client {name}` to drop them (or --id N)")
    if counts["queued"]:
        _say(f"{counts['queued']} queued (daily invite cap): a sync on their day sends "
             f"them in score order; see `connector leads --client {name}`")


def _say(text: str) -> None:
    console.print(text, highlight=False, soft_wrap=True, markup=False)


def _as_dict(e: OutboxEntry) -> dict:
    return {"id": e.id, "kind": e.kind, "contact_id": e.contact_id, "key": e.dedupe_key,
            "status": e.status, "attempts": e.attempts, "last_error": e.last_error,
            "detail": e.detail, "next_attempt_at": e.next_attempt_at,
            "updated_at": e.updated_at, "hold_reason": e.hold_reason,
            "released_at": e.released_at}


def _next(e: OutboxEntry) -> str:
    if e.status != "pending":
        return "-"
    return _when(e.next_attempt_at) if e.next_attempt_at else "next sync"


def _when(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC") if at else "-"


def outbox_line(name: str, counts: dict[str, int]) -> str | None:
    """What waits or needs a person, and the commands to see and settle it, in one line."""
    parts = outbox_words(counts)
    if not parts:
        return None
    return f"{name}: actions {', '.join(parts)}: " + "; ".join(outbox_commands(name, counts))


def outbox_words(counts: Mapping[str, int], *, with_done: bool = False) -> list[str]:
    """The outbox's counts as words ("3 held", "2 failed"): what waits or needs a person
    first, then (``with_done``) what is done."""
    shown = ["held", "unknown", "failed", "queued", "pending", "sending"]
    if with_done:
        shown += ["sent", "discarded"]
    return [f"{counts[s]} {s}" for s in shown if counts.get(s)]


def outbox_commands(name: str, counts: Mapping[str, int]) -> list[str]:
    """The commands that show and settle what waits in the outbox (none when nothing)."""
    if not outbox_words(counts):
        return []
    out = [f"see them with `connector actions list --client {name}`"]
    if counts.get("unknown"):
        out.append(f"settle unknown with `connector actions resolve --client {name} "
                   "--id N --sent|--not-sent`")
    if counts.get("failed"):
        out.append(f"requeue failed with `connector actions retry --client {name} --id N`")
    if counts.get("held"):
        out.append(f"review held, then release with `connector actions release --client "
                   f"{name}` (or drop with `connector actions discard --client {name}`)")
    return out
