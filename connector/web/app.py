"""The ASGI app of ``connector serve``: webhook routes, ``/healthz`` and ``/metrics``.

Routes (one per client, so each client's secret guards its own URL):

- ``POST /webhooks/hubspot/<client>``: HubSpot's JSON array of subscription events, v3-signed
  with the app's client secret (``webhooks.secret_env``); bad or old signatures get 401.
- ``POST /webhooks/activecampaign/<client>/<secret>``: ActiveCampaign's form-encoded event;
  any other path gets 404. Events our own API writes caused (``initiated_by`` ``api``) are
  ignored, so a score write never triggers another sync.

Either marks the event's contacts dirty (``connector.web.dirty``) and answers at once; the
debounced targeted sync does the rest, in this process or (``--queue``) in a worker.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from connector.clock import Clock, SystemClock
from connector.config import ClientConfig, Settings
from connector.crm.base import MARKER_NAME
from connector.errors import ConnectorError, LeaseHeld
from connector.store.base import Store
from connector.web.dirty import Debouncer
from connector.web.metrics import CONTENT_TYPE, Metrics
from connector.web.signatures import Rejected, check_hubspot_v3, check_path_secret

log = logging.getLogger("connector.web")
# ActiveCampaign's initiation options ("sources" of POST /webhooks: public, admin, api,
# system; ../shared/specs/activecampaign-v3.openapi.json, and "Initiation options" at
# https://developers.activecampaign.com/page/webhooks); the posted form says which one
# caused the event in ``initiated_by`` (and ``initiated_from``)
AC_SOURCE_FIELDS = ("initiated_by", "initiated_from")
OWN_SOURCE = "api"


class WebhookService:
    """What the routes share: the clients, the store, the debouncer and the metrics."""

    def __init__(self, settings: Settings, clients: Mapping[str, ClientConfig], store: Store,
                 *, env: Mapping[str, str] | None = None, public_url: str | None = None,
                 clock: Clock | None = None, workers: int = 4,
                 enqueue: Callable[[str], str] | None = None) -> None:
        """``enqueue`` (``connector serve --queue``): put a client's targeted sync on the
        queue (returns the task id) instead of running it in this process."""
        self.settings = settings
        self.clients = dict(clients)
        self.store = store
        self.env = env
        self.public_url = public_url.rstrip("/") if public_url else None
        self.clock: Clock = clock or SystemClock()
        self.enqueue = enqueue
        self.metrics = Metrics(store, lambda: sorted(self.clients))
        runner = self.run_targeted if enqueue is None else self.queue_targeted
        self.debouncer = Debouncer(store, runner, self._timing, workers=workers,
                                  clock=self.clock)

    def _timing(self, client: str) -> tuple[float, float]:
        cfg = self.clients.get(client)
        if cfg is None:
            return 0.0, 0.0
        return cfg.webhooks.quiet_seconds, cfg.webhooks.max_wait_seconds

    def secret(self, name: str, kind: str) -> str | None:
        """The client's webhook secret when ``name`` is a ``kind`` client with one."""
        cfg = self.clients.get(name)
        if cfg is None or cfg.crm.kind != kind:
            return None
        try:
            return cfg.webhook_secret(self.env)
        except ConnectorError as err:  # not set or empty: as if no webhook were configured
            log.warning("webhook for %s refused: %s", name, err)
            return None

    def run_targeted(self, client: str, dirty: dict[str, datetime]) -> None:
        """One targeted sync of ``client``'s dirty contacts, recorded in the metrics."""
        from connector.sync.targeted import sync_dirty

        cfg = self.clients.get(client)
        if cfg is None:  # marks of a client this server does not serve: the poll's
            return
        run = sync_dirty(cfg, self.settings, self.store, dirty, env=self.env, clock=self.clock)
        self.metrics.record_sync(client, run.report, run.calls, run.rate_limited, run.lag)
        log.info("targeted sync of %s: %d contacts, %s", client, len(dirty), run.report.status)

    def queue_targeted(self, client: str, dirty: dict[str, datetime]) -> None:
        """``--queue``: put ``client``'s targeted sync on the queue for a worker (which
        reads the marks itself). While a live run holds the client's lease this raises
        LeaseHeld, so the debouncer tries again shortly, as it does in process."""
        from connector.sync.lease import live_holder

        if client not in self.clients or self.enqueue is None:
            return
        holder = live_holder(self.store, client, self.clock.now())
        if holder is not None:
            raise LeaseHeld(client, holder, "the end of its run")
        task = self.enqueue(client)
        self.metrics.queued.labels(client).inc()
        log.info("targeted sync of %s queued (task %s): %d contacts", client, task,
                 len(dirty))

    def label(self, name: str) -> str:
        """A client name for a metric label: names from unknown URLs are not kept (anyone
        can post to any path)."""
        return name if name in self.clients else "unknown"

    def uri(self, request: Request) -> str:
        """The URL HubSpot called (what it signed): behind a proxy, ``--public-url``."""
        if self.public_url is None:
            return str(request.url)
        query = f"?{request.url.query}" if request.url.query else ""
        return f"{self.public_url}{request.url.path}{query}"


def hubspot_contact_ids(events: Any, own_properties: set[str]) -> list[str]:
    """Contact ids of a HubSpot webhook batch (a JSON array of events, each with
    ``subscriptionType`` like ``contact.propertyChange`` and ``objectId``; generic
    ``object.*`` events name contacts with ``objectTypeId`` 0-1). A change of a property
    the connector itself writes is its own echo and left out."""
    if not isinstance(events, list):
        return []
    ids: list[str] = []
    for event in events:
        if not isinstance(event, dict) or event.get("objectId") is None:
            continue
        kind = str(event.get("subscriptionType") or "")
        is_contact = kind.startswith("contact.") or (
            kind.startswith("object.") and str(event.get("objectTypeId")) == "0-1")
        if not is_contact:
            continue
        if kind.endswith("propertyChange") and event.get("propertyName") in own_properties:
            continue
        ids.append(str(event["objectId"]))
    return list(dict.fromkeys(ids))


def create_app(service: WebhookService) -> Starlette:
    """The Starlette app; its lifespan starts and stops the debouncer."""

    async def hubspot(request: Request) -> Response:
        name = request.path_params["client"]
        secret = service.secret(name, "hubspot")
        if secret is None:
            service.metrics.webhooks.labels(service.label(name), "hubspot", "not_found").inc()
            return JSONResponse({"error": "not found"}, status_code=404)
        body = await request.body()
        try:
            check_hubspot_v3(secret, request.method, service.uri(request), body,
                             request.headers.get("X-HubSpot-Request-Timestamp"),
                             request.headers.get("X-HubSpot-Signature-v3"),
                             int(service.clock.now().timestamp() * 1000))
        except Rejected as exc:
            service.metrics.webhooks.labels(name, "hubspot", "rejected").inc()
            log.warning("HubSpot webhook for %s rejected: %s", name, exc)
            return JSONResponse({"error": str(exc)}, status_code=401)
        try:
            events = json.loads(body or b"[]")
        except ValueError:
            return JSONResponse({"error": "body is not JSON"}, status_code=400)
        cfg = service.clients[name]
        ids = hubspot_contact_ids(events, {cfg.score_property.name, MARKER_NAME})
        return await _marked(name, "hubspot", ids)

    async def activecampaign(request: Request) -> Response:
        name = request.path_params["client"]
        try:
            check_path_secret(service.secret(name, "activecampaign"),
                              request.path_params["secret"])
        except Rejected:
            service.metrics.webhooks.labels(service.label(name), "activecampaign",
                                            "not_found").inc()
            return JSONResponse({"error": "not found"}, status_code=404)
        # form-encoded (parsed here: no multipart dependency for a urlencoded body)
        form = dict(parse_qsl((await request.body()).decode("utf-8", "replace")))
        if any(str(form.get(f) or "").lower() == OWN_SOURCE for f in AC_SOURCE_FIELDS):
            service.metrics.webhooks.labels(name, "activecampaign", "own_write").inc()
            return JSONResponse({"marked": 0, "ignored": "caused by an API write"})
        cid = str(form.get("contact[id]") or "")
        return await _marked(name, "activecampaign", [cid] if cid.isdigit() else [])

    async def _marked(name: str, crm: str, ids: list[str]) -> Response:
        await run_in_threadpool(service.debouncer.mark, name, ids, f"{crm} webhook")
        service.metrics.webhooks.labels(name, crm, "accepted").inc()
        service.metrics.marked.labels(name).inc(len(ids))
        return JSONResponse({"marked": len(ids)})

    async def healthz(request: Request) -> Response:
        try:
            dirty = await run_in_threadpool(service.store.dirty_clients)
        except ConnectorError as exc:
            return JSONResponse({"status": "error", "error": str(exc)}, status_code=503)
        return JSONResponse({"status": "ok", "clients": len(service.clients),
                             "clients_with_dirty_contacts": dirty})

    async def metrics(request: Request) -> Response:
        body = await run_in_threadpool(service.metrics.render)
        return Response(body, media_type=CONTENT_TYPE)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        service.debouncer.start()
        try:
            yield
        finally:
            await run_in_threadpool(service.debouncer.stop)

    return Starlette(routes=[
        Route("/webhooks/hubspot/{client}", hubspot, methods=["POST"]),
        Route("/webhooks/activecampaign/{client}/{secret}", activecampaign, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
    ], lifespan=lifespan)
