"""Which adapter serves which ``crm.kind``, and whether it can do what a client asks.

Adapters register themselves with ``@register("kind")``; the module of a known kind is
imported only when a client of that kind is run (the HubSpot SDK is slow to import), so a
new adapter is one module plus one line in ``_MODULES``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Protocol, TypeVar

from connector.clock import Clock
from connector.crm.base import AUTOMATION, CRM, TAG, TASK, UNSUBSCRIBE
from connector.errors import ClientConfigError

if TYPE_CHECKING:
    from connector.config import ClientConfig

# kind -> the module whose import registers its adapter
_MODULES = {"hubspot": "connector.crm.hubspot",
            "activecampaign": "connector.crm.activecampaign"}

# invite.via / notify.via -> the capability it needs (None: sent by SMTP, no CRM call)
VIA_NEEDS: dict[str, str | None] = {"smtp": None, "hubspot_task": TASK,
                                    "activecampaign_tag": TAG,
                                    "activecampaign_automation": AUTOMATION}


class Adapter(Protocol):
    """An adapter class as the registry sees it: what it can do, and how to build it."""

    kind: str
    capabilities: frozenset[str]

    def from_config(self, client: ClientConfig, token: str, *,
                    clock: Clock) -> CRM: ...


A = TypeVar("A")
_ADAPTERS: dict[str, Adapter] = {}


def register(kind: str) -> Callable[[A], A]:
    """Class decorator: the adapter for ``crm.kind: <kind>``."""

    def add(cls: A) -> A:
        _ADAPTERS[kind] = cls  # type: ignore[assignment]  # checked by Adapter's protocol
        return cls

    return add


def kinds() -> list[str]:
    """Every kind a client file may name."""
    return sorted({*_MODULES, *_ADAPTERS})


def adapter_for(kind: str) -> Adapter:
    """The registered adapter class of ``kind`` (importing its module on first use)."""
    if kind not in _ADAPTERS and kind in _MODULES:
        importlib.import_module(_MODULES[kind])
    try:
        return _ADAPTERS[kind]
    except KeyError:
        raise ClientConfigError(f"no adapter for crm.kind {kind!r}", field="crm.kind",
                                fix=f"use one of: {', '.join(kinds())}") from None


def needed_capabilities(client: ClientConfig) -> dict[str, str]:
    """The capabilities the client's configuration asks of its CRM: field -> capability."""
    needs: dict[str, str] = {}
    for field, enabled, via in (("invite.via", client.invite.enabled, client.invite.via),
                                ("notify.via", client.notify.enabled, client.notify.via)):
        capability = VIA_NEEDS.get(via)
        if enabled and capability is not None:
            needs[field] = capability
    if client.unsubscribe.enabled:
        needs["unsubscribe.enabled"] = UNSUBSCRIBE
    return needs


def check_capabilities(client: ClientConfig, kind: str,
                       capabilities: frozenset[str] | Mapping[str, object]) -> None:
    """Refuse a client that asks its CRM for an action the adapter does not implement:
    the error names the client file, the field and a value that works, before any call."""
    for field, capability in needed_capabilities(client).items():
        if capability in capabilities:
            continue
        if field == "unsubscribe.enabled":
            fix = "set unsubscribe.enabled: false"
        else:
            works = [via for via, need in VIA_NEEDS.items()
                     if (need is None or need in capabilities)
                     and (field == "invite.via" or via in ("smtp", "hubspot_task"))]
            fix = f"use {field}: {' or '.join(works)}"
        raise ClientConfigError(
            f"the {kind} adapter cannot do '{capability}' actions, which this field asks for",
            file=str(client.source or client.name), field=field, fix=fix)
