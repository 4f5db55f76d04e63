"""`connector status` for people: one block per client, one function per section.

A section takes a :class:`ClientStatus` and returns its lines (none when it has nothing to
say). Lines are words, never a raw key list, and wrap at the terminal's width at spaces
only, so a client name is never cut. Full detail is `connector status --json`.
To add a section, write a function and list it in ``SECTIONS``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.text import Text

from connector import logs
from connector.cli.actions_cmds import outbox_commands, outbox_words
from connector.sync.report import count_words

if TYPE_CHECKING:
    from connector.config import ClientConfig

SHOWN = 5  # skipped records and errors listed per client; the rest are in --json


@dataclass(frozen=True)
class ClientStatus:
    """What a section sees: the client's name, its part of ``sync.status.status()`` and its
    configuration (None when the state has the client but no client file does)."""

    name: str
    info: Mapping[str, Any]
    config: ClientConfig | None = None

    @property
    def last_run(self) -> Mapping[str, Any]:
        return self.info.get("last_run") or {}


Line = str | Text
Section = Callable[[ClientStatus], Iterable[Line]]


def last_run(c: ClientStatus) -> list[Line]:
    run = c.last_run
    if not run:
        return [f"last run: never; start one with `connector sync --client {c.name}`"]
    started = _parse(run.get("started_at"))
    finished = _parse(run.get("finished_at"))
    when = f"{started:%Y-%m-%d %H:%M} UTC" if started else "at an unknown time"
    took = (f", took {_duration((finished - started).total_seconds())}"
            if started and finished else "")
    status = str(run.get("status", "?"))
    style = {"ok": "green", "failed": "red", "interrupted": "yellow"}.get(status, "")
    return [Text.assemble("last run: ", (status, style),
                          f" ({run.get('kind', 'sync')}, {when}{took})")]


def run_counts(c: ClientStatus) -> list[Line]:
    counts = c.last_run.get("counts")
    return [f"it did: {', '.join(count_words(counts))}"] if counts else []


def contacts(c: ClientStatus) -> list[Line]:
    return [f"contacts stored: {c.info.get('contacts', 0):,}"]


def actions(c: ClientStatus) -> list[Line]:
    counts = c.info.get("actions") or {}
    words = outbox_words(counts, with_done=True)
    if not words:
        return ["actions: none yet"]
    return [f"actions: {', '.join(words)}",
            *(f"  {command}" for command in outbox_commands(c.name, counts))]


def unknown(c: ClientStatus) -> list[Line]:
    return [Text.assemble(("needs a person: ", "red"), row) for row in c.info.get("unknown", [])]


def skipped(c: ClientStatus) -> list[Line]:
    rows = c.info.get("skipped") or []
    if not rows:
        return []
    out: list[Line] = [f"skipped records: {len(rows)}{'+' if len(rows) >= 50 else ''} "
                       "(correct them in the CRM)"]
    out += [f"  contact {r['contact_id']}: {r['reason']}" for r in rows[:SHOWN]]
    return out + _more(len(rows))


def failed_writes(c: ClientStatus) -> list[Line]:
    n = c.info.get("failed_writes", 0)
    return [f"scores not written to the CRM: {n} (the next sync writes them again)"] if n else []


def errors(c: ClientStatus) -> list[Line]:
    found = c.last_run.get("errors") or []
    out: list[Line] = [Text.assemble(("error: ", "red"), logs.mask(str(e)))
                       for e in found[:SHOWN]]
    return out + _more(len(found))


def capabilities(c: ClientStatus) -> list[Line]:
    """What the CRM account was found able to do (connector/crm/detected.py), and what
    changed at the last detection that changed something."""
    from connector.crm.detected import Detected, summary

    kept = c.info.get("capabilities")
    if not kept:
        return []
    detected = Detected.from_dict(kept)
    at = f"{detected.checked_at:%Y-%m-%d %H:%M} UTC" if detected.checked_at else "?"
    out: list[Line] = [f"capabilities (detected {at}): {summary(detected)}"]
    if kept.get("changes"):
        changed = _parse(kept.get("changed_at"))
        when = f"{changed:%Y-%m-%d %H:%M} UTC" if changed else "?"
        out.append(Text.assemble(("capabilities changed ", "yellow"),
                                 f"at {when}: " + "; ".join(kept["changes"])))
    return out


def warnings(c: ClientStatus) -> list[Line]:
    """What the runs of the last 24 hours did, but not as configured (e.g. a lead's owner
    without an email, sent from owner_fallback), with the fix."""
    return [Text.assemble(("warning: ", "yellow"), str(note))
            for note in c.info.get("warnings") or []]


SECTIONS: list[Section] = [last_run, run_counts, contacts, actions, unknown, skipped,
                           failed_writes, errors, warnings, capabilities]


def print_status(console: Console, summary: Mapping[str, Any],
                 clients: Mapping[str, ClientConfig]) -> None:
    """Every client (configured or in the state), name first, then its sections."""
    known = summary.get("clients", {})
    for name in sorted(set(clients) | set(known)):
        view = ClientStatus(name, known.get(name, {}), clients.get(name))
        console.print()
        console.print(Text(name, style="bold"), soft_wrap=True)
        if view.config is None:
            _say(console, "no client file (only in the state)")
        for section in SECTIONS:
            for line in section(view):
                _say(console, line)


def _say(console: Console, line: Line, indent: int = 2) -> None:
    """One line, indented, wrapped at spaces within the console's width; the lines it
    wraps onto are indented two more."""
    text = line if isinstance(line, Text) else Text(line)
    lead = indent + len(text.plain) - len(text.plain.lstrip(" "))
    for i, part in enumerate(text.wrap(console, max(20, console.width - lead - 2))):
        part.rstrip()
        pad = " " * (indent if i == 0 else lead + 2)
        console.print(Text(pad) + part, soft_wrap=True, highlight=False)


def _more(total: int) -> list[Line]:
    return [f"  ... and {total - SHOWN} more: `connector status --json`"] \
        if total > SHOWN else []


def _parse(value: object) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs} s"
    return f"{minutes // 60} h {minutes % 60} min"
