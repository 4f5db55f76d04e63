"""Who may post: a forged HubSpot signature, an old timestamp and a wrong ActiveCampaign
path are refused (401 / 404) and change nothing; the same requests done right are
accepted (so the refusals are not an endpoint that refuses everything)."""

from __future__ import annotations

import json
import time

import pytest
import requests

from connector.sandbox.activecampaign import ACAccount, ACSandbox
from connector.sandbox.hubspot import HubSpotAccount, HubSpotSandbox
from connector.sandbox.server import Server
from connector.sandbox.webhooks import hubspot_signature
from connector.store import open_store

from .helpers import SECRET, TOKEN, client, serve, warm_ready

EVENT = [{"eventId": 1, "subscriptionId": 7, "portalId": 62515, "appId": 1160452,
          "occurredAt": 0, "subscriptionType": "contact.propertyChange", "attemptNumber": 0,
          "objectId": 9001, "propertyName": "num_conversion_events", "propertyValue": "1",
          "changeSource": "FORM", "sourceId": None}]


@pytest.fixture
def hubspot(tmp_path):
    url = f"sqlite:///{tmp_path / 'state.db'}"
    app = HubSpotSandbox()
    account = app.add_account(TOKEN, HubSpotAccount("acme", plan="enterprise"))
    account.add_contact(warm_ready("9001"))
    store = open_store(url)
    with Server(app) as crm:
        # a long quiet time: an accepted webhook stays a dirty mark during the test
        cfg = client("acme", "hubspot", crm.url, 2525, quiet=60, max_wait=60)
        with serve(cfg, url, store) as server:
            yield server, store, app
    store.close()


def _post(server, body: str, *, secret: str = SECRET, age_ms: int = 0,
          path: str = "/webhooks/hubspot/acme") -> requests.Response:
    stamp = str(int(time.time() * 1000) - age_ms)
    uri = server.url + path
    return requests.post(uri, data=body, timeout=5, headers={
        "Content-Type": "application/json", "X-HubSpot-Request-Timestamp": stamp,
        "X-HubSpot-Signature-v3": hubspot_signature(secret, "POST", uri, body, stamp)})


def test_hubspot_forged_signature_and_old_timestamp_get_401_and_change_nothing(hubspot):
    server, store, app = hubspot
    body = json.dumps(EVENT)
    forged = _post(server, body, secret="not-the-app-secret")
    old = _post(server, body, age_ms=5 * 60 * 1000 + 2000)
    stamp = str(int(time.time() * 1000))
    tampered = requests.post(f"{server.url}/webhooks/hubspot/acme", timeout=5,
                             data=body.replace("9001", "9002"), headers={
                                 "X-HubSpot-Request-Timestamp": stamp,
                                 "X-HubSpot-Signature-v3": hubspot_signature(
                                     SECRET, "POST", f"{server.url}/webhooks/hubspot/acme",
                                     body, stamp)})
    unsigned = requests.post(f"{server.url}/webhooks/hubspot/acme", data=body, timeout=5)
    assert [r.status_code for r in (forged, old, tampered, unsigned)] == [401] * 4
    assert "older than 5 minutes" in old.json()["error"]
    assert store.dirty_contacts("acme") == {}
    assert store.last_runs("acme") == [] and app.ledger.entries == []
    # the same event, signed with the app secret and fresh, is taken
    ok = _post(server, body)
    assert ok.status_code == 200 and ok.json() == {"marked": 1}
    assert set(store.dirty_contacts("acme")) == {"9001"}


def test_hubspot_unknown_client_is_404_and_not_a_metric_label(hubspot):
    server, store, _ = hubspot
    for name in ("other", "x" * 40):
        assert _post(server, "[]", path=f"/webhooks/hubspot/{name}").status_code == 404
        assert store.dirty_contacts(name) == {}
    metrics = requests.get(f"{server.url}/metrics", timeout=5).text
    assert ('connector_webhooks_total{client="unknown",crm="hubspot",outcome="not_found"} 2.0'
            in metrics)
    assert "other" not in metrics


def test_activecampaign_wrong_path_gets_404_and_changes_nothing(tmp_path):
    url = f"sqlite:///{tmp_path / 'state.db'}"
    app = ACSandbox()
    app.add_account(TOKEN, ACAccount("nordic"))
    store = open_store(url)
    form = {"type": "open", "initiated_by": "public", "contact[id]": "501",
            "contact[email]": "lead501@lund.dk"}
    with Server(app) as crm:
        cfg = client("nordic", "activecampaign", crm.url, 2525, quiet=60, max_wait=60)
        with serve(cfg, url, store) as server:
            base = f"{server.url}/webhooks/activecampaign"
            wrong = [requests.post(f"{base}/nordic/{SECRET}x", data=form, timeout=5),
                     requests.post(f"{base}/nordic/", data=form, timeout=5),
                     requests.post(f"{base}/acme/{SECRET}", data=form, timeout=5)]
            assert [r.status_code for r in wrong] == [404, 404, 404]
            assert store.dirty_contacts("nordic") == {}
            assert store.last_runs("nordic") == [] and app.ledger.entries == []
            right = requests.post(f"{base}/nordic/{SECRET}", data=form, timeout=5)
            assert right.status_code == 200
            assert set(store.dirty_contacts("nordic")) == {"501"}
    store.close()


def test_healthz_and_metrics(hubspot):
    server, _, _ = hubspot
    health = requests.get(f"{server.url}/healthz", timeout=5)
    assert health.status_code == 200 and health.json()["status"] == "ok"
    _post(server, "not json", secret="forged")
    metrics = requests.get(f"{server.url}/metrics", timeout=5)
    assert metrics.status_code == 200
    assert ('connector_webhooks_total{client="acme",crm="hubspot",outcome="rejected"} 1.0'
            in metrics.text)
    for name in ("connector_syncs_total", "connector_crm_calls_total",
                 "connector_crm_rate_limited_total", "connector_outbox_entries",
                 "connector_invites_sent", "connector_webhook_lag_seconds"):
        assert f"# TYPE {name.removesuffix('_total')}" in metrics.text, name


@pytest.mark.parametrize("env, said", [
    ({}, "WEBHOOK_SECRET is not set"),
    ({"WEBHOOK_SECRET": " "}, "WEBHOOK_SECRET is set in the environment but empty")])
def test_a_missing_or_empty_secret_refuses_the_webhook_and_says_which(tmp_path, caplog, env,
                                                                       said):
    from connector.web.app import WebhookService

    from ..e2e.helpers import settings

    url = f"sqlite:///{tmp_path / 'state.db'}"
    cfg = client("acme", "hubspot", "http://127.0.0.1:9", 9)
    store = open_store(url)
    try:
        service = WebhookService(settings(url), {"acme": cfg}, store, env=env)
        with caplog.at_level("WARNING"):
            assert service.secret("acme", "hubspot") is None
    finally:
        store.close()
    assert said in caplog.text
