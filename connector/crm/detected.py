"""What a CRM account can do, detected with a few read-only calls instead of declared.

An adapter that can ask (``Detects``) answers ``detect_capabilities()`` with a
:class:`Detected`: named facts about the account (HubSpot: the token's scopes, whether the
events API, the email events API and the subscription types answer; ActiveCampaign: the
account-wide activity stream, whether it names site visits, how many custom fields and
tags). ``use_capabilities`` makes the adapter use what was found and returns what a person
should know (a declared ``crm.plan`` that disagrees with the portal).

The sync detects on a client's first sync and on every full resync, keeps the result in
the state store (``capabilities`` table, migration 0008), and reports what changed since
the run before; the other syncs use what was kept. ``connector doctor`` detects too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable


@dataclass(frozen=True)
class Detected:
    """The facts found about one account (JSON-able values), and when."""

    kind: str
    found: Mapping[str, Any] = field(default_factory=dict)
    checked_at: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "found": dict(self.found),
                "checked_at": self.checked_at.isoformat() if self.checked_at else None}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Detected:
        at = data.get("checked_at")
        return cls(kind=str(data.get("kind") or ""), found=dict(data.get("found") or {}),
                   checked_at=datetime.fromisoformat(at) if isinstance(at, str) else at)


@runtime_checkable
class Detects(Protocol):
    """An adapter that asks its account what it can do (read-only calls only)."""

    def detect_capabilities(self) -> Detected:
        """The account's capabilities, found with a few read-only calls."""
        ...

    def use_capabilities(self, detected: Detected) -> list[str]:
        """Use what was found from now on; returns notes for the sync report (e.g. a
        declared ``crm.plan`` that disagrees with the account)."""
        ...


def show(value: Any) -> str:
    """One fact's value as a person reads it."""
    if value is None:
        return "unknown"
    if value is True:
        return "yes"
    if value is False:
        return "no"
    if isinstance(value, list | tuple | set):
        return ", ".join(str(v) for v in value) or "none"
    return str(value)


def changes(before: Detected | None, after: Detected) -> list[str]:
    """What differs between two detections, one line per fact ("events_api: yes -> no");
    nothing when there was no detection before."""
    if before is None:
        return []
    out = []
    for key in sorted({*before.found, *after.found}):
        old, new = before.found.get(key), after.found.get(key)
        if old == new:
            continue
        if isinstance(old, list) and isinstance(new, list):
            gone = sorted(set(old) - set(new))
            added = sorted(set(new) - set(old))
            parts = [f"lost {', '.join(gone)}" if gone else "",
                     f"gained {', '.join(added)}" if added else ""]
            out.append(f"{key}: " + "; ".join(p for p in parts if p))
        else:
            out.append(f"{key}: {show(old)} -> {show(new)}")
    return out


def summary(detected: Detected) -> str:
    """All facts in one line, for ``connector status``."""
    return "; ".join(f"{k} {show(v)}" for k, v in sorted(detected.found.items())
                     if k != "scopes") or "nothing found"


class _Store(Protocol):
    def get_capabilities(self, client: str) -> dict[str, Any] | None: ...
    def save_capabilities(self, client: str, detected: Mapping[str, Any],
                          changes: Sequence[str]) -> None: ...


def settle(crm: object, store: _Store, client: str, *, detect: bool,
           keep: bool = True) -> list[str]:
    """Make ``crm`` use its account's capabilities: detected now when ``detect`` (a full
    resync) or when none were kept for the client (its first sync), else as kept. A new
    detection is kept (``keep``) with what changed since the one before. Returns the lines
    for the sync report: the changes, and the adapter's notes (a declared plan that
    disagrees). Adapters that cannot ask (the memory CRM) are left alone."""
    if not isinstance(crm, Detects):
        return []
    kept = store.get_capabilities(client)
    before = Detected.from_dict(kept) if kept else None
    if before is not None and before.kind != getattr(crm, "kind", before.kind):
        before = None  # the client moved to another CRM: nothing kept applies
    lines: list[str] = []
    if detect or before is None:
        detected = crm.detect_capabilities()
        diff = changes(before, detected)
        lines.extend(f"changed since {_when(before)}: {line}" for line in diff)
        if keep:
            store.save_capabilities(client, detected.as_dict(), diff)
    else:
        detected = before
    lines.extend(crm.use_capabilities(detected))
    return lines


def _when(detected: Detected | None) -> str:
    at = detected.checked_at if detected else None
    return f"the detection of {at:%Y-%m-%d %H:%M} UTC" if at else "the last detection"
