"""Webhooks the sandboxes send to a configured URL when an engagement event is added.

HubSpot (https://developers.hubspot.com/docs/apps/legacy-apps/private-apps/build-with-
projects/configure-webhooks, "Response payloads"; request validation at https://developers.
hubspot.com/docs/apps/developer-platform/build-apps/authentication/request-validation):
a POST of a JSON array of up to 100 events, each with eventId, subscriptionId, portalId,
appId, occurredAt (epoch ms), subscriptionType (``contact.propertyChange``), attemptNumber,
objectId, propertyName, propertyValue, changeSource and sourceId; headers
X-HubSpot-Signature-v3 (base64 HMAC SHA-256 of method + URI + body + timestamp with the app
secret), X-HubSpot-Request-Timestamp (epoch ms) and X-HubSpot-Signature-Version.

ActiveCampaign (https://developers.activecampaign.com/page/webhooks, "Webhook data you can
receive"): a form-encoded POST per event: ``type`` (open, click, subscribe, update, ...),
``date_time``, ``initiated_from`` / ``initiated_by`` (public: the contact; admin: a user;
api; system), ``list``, ``contact[id]``, ``contact[email]`` and the event's own fields.
Unsigned, never retried. Our own API writes fire ``update`` with ``initiated_by=api``.

Sending happens on one background thread per sender, so adding an event never waits for
the receiver (as a real CRM's event is recorded before its webhook goes out).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import unquote

import requests

BATCH = 100  # HubSpot sends at most 100 events per request
_ids = itertools.count(1)


@dataclass
class Delivery:
    """What the sender posted and what came back (tests read these)."""

    url: str
    status: int | None
    sent_at: float
    payload: Any = None
    error: str | None = None


@dataclass
class _Sender:
    url: str
    deliveries: list[Delivery] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.queue: queue.Queue[Any] = queue.Queue()
        self.session = requests.Session()
        self.thread = threading.Thread(target=self._loop, name="sandbox-webhooks", daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        while True:
            first = self.queue.get()
            if first is None:
                return
            items = [first]
            while len(items) < BATCH:
                try:
                    nxt = self.queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    self.queue.put(None)
                    break
                items.append(nxt)
            self._send(items)

    def _send(self, items: list[Any]) -> None:
        raise NotImplementedError

    def _post(self, payload: Any, **kwargs: Any) -> None:
        try:
            response = self.session.post(self.url, timeout=10, **kwargs)
            self.deliveries.append(Delivery(self.url, response.status_code, time.time(),
                                            payload))
        except requests.RequestException as exc:  # never retried, like ActiveCampaign's
            self.deliveries.append(Delivery(self.url, None, time.time(), payload, str(exc)))

    def close(self) -> None:
        self.queue.put(None)
        self.thread.join(timeout=5)
        self.session.close()


def hubspot_signature(secret: str, method: str, uri: str, body: str, timestamp: str) -> str:
    """HubSpot's v3 signature, as its request-validation page describes it."""
    source = (method + unquote(uri) + body + timestamp).encode("utf-8")
    return base64.b64encode(hmac.new(secret.encode("utf-8"), source,
                                     hashlib.sha256).digest()).decode("ascii")


@dataclass
class HubSpotWebhooks(_Sender):
    """A HubSpot app's webhook subscription: ``contact.propertyChange`` for the given
    properties, signed with ``app_secret``."""

    app_secret: str = ""
    portal_id: int = 62515
    app_id: int = 1160452
    properties: tuple[str, ...] = ()
    clock_ms: Callable[[], int] = field(default=lambda: int(time.time() * 1000))

    def property_changes(self, contact_id: str, before: dict[str, Any],
                         after: dict[str, Any], source: str = "ANALYTICS") -> None:
        for name in self.properties or tuple(after):
            if after.get(name) != before.get(name):
                self.queue.put({
                    "eventId": next(_ids), "subscriptionId": 1000 + (hash(name) % 1000),
                    "portalId": self.portal_id, "appId": self.app_id,
                    "occurredAt": self.clock_ms(), "subscriptionType": "contact.propertyChange",
                    "attemptNumber": 0, "objectId": int(contact_id), "propertyName": name,
                    "propertyValue": "" if after.get(name) is None else str(after[name]),
                    "changeSource": source, "sourceId": None})

    def _send(self, items: list[Any]) -> None:
        body = json.dumps(items)
        stamp = str(self.clock_ms())
        self._post(items, data=body.encode("utf-8"), headers={
            "Content-Type": "application/json",
            "X-HubSpot-Signature-Version": "v3",
            "X-HubSpot-Request-Timestamp": stamp,
            "X-HubSpot-Signature-v3": hubspot_signature(self.app_secret, "POST", self.url,
                                                        body, stamp)})


@dataclass
class ACWebhooks(_Sender):
    """An ActiveCampaign webhook (all initiation options, as the receiver filters)."""

    def event(self, kind: str, contact_id: int, email: str, at: datetime,
              initiated_by: str = "public", **extra: str) -> None:
        form = {"type": kind, "date_time": at.isoformat(timespec="seconds"),
                "initiated_from": initiated_by, "initiated_by": initiated_by, "list": "0",
                "contact[id]": str(contact_id), "contact[email]": email, **extra}
        self.queue.put(form)

    def _send(self, items: list[Any]) -> None:
        for form in items:  # one POST per event
            self._post(form, data=form)
