"""With ``webhooks.enabled`` the scheduled poll of an ActiveCampaign client trusts the dirty
set: an unchanged account costs at most 3 calls (without the setting it re-reads every
contact updated since the day before, plus the account's activity stream, deals, tags);
contacts still marked dirty (a webhook whose targeted sync never ran) are synced by it."""

from __future__ import annotations

from datetime import UTC, datetime

from connector.models import Event, EventType
from connector.sandbox.activecampaign import ACAccount, ACSandbox
from connector.sandbox.server import Server
from connector.sandbox.smtp_sink import SmtpSink
from connector.store import open_store

from .helpers import TOKEN, client, full_sync, poll, warm_ready


def _account(n: int = 30) -> tuple[ACSandbox, ACAccount]:
    app = ACSandbox()
    account = app.add_account(TOKEN, ACAccount("nordic", requests_per_second=100_000))
    for i in range(n):
        account.add_contact(warm_ready(str(600 + i)))
    return app, account


def test_unchanged_activecampaign_poll_makes_at_most_3_calls_with_webhooks_on(tmp_path):
    app, _ = _account()
    with Server(app) as crm, SmtpSink() as sink:
        results = {}
        for enabled in (False, True):
            url = f"sqlite:///{tmp_path / f'{enabled}.db'}"
            store = open_store(url)
            cfg = client("nordic", "activecampaign", crm.url, sink.port, enabled=enabled)
            full_sync(cfg, url, store)
            app.ledger.clear()
            report = poll(cfg, url, store)
            results[enabled] = (report, app.ledger.by_path())
            store.close()
    print(f"\nunchanged account, scheduled poll: webhooks off {sum(results[False][1].values())}"
          f" calls {dict(results[False][1])}; on {sum(results[True][1].values())} calls "
          f"{dict(results[True][1])}")
    report, calls = results[True]
    assert report.status == "ok" and report.kind == "dirty-set sync"
    assert sum(calls.values()) <= 3
    assert sum(results[False][1].values()) > 3  # what the setting saves


def test_poll_with_webhooks_on_syncs_contacts_still_marked_dirty(tmp_path):
    app, account = _account(5)
    url = f"sqlite:///{tmp_path / 'state.db'}"
    with Server(app) as crm, SmtpSink() as sink:
        store = open_store(url)
        cfg = client("nordic", "activecampaign", crm.url, sink.port, enabled=True)
        full_sync(cfg, url, store)
        account.add_event(Event("form-603", "603", EventType.FORM_SUBMISSION,
                                datetime.now(UTC), name="contact-form"))
        assert poll(cfg, url, store).counts["pulled"] == 0  # not marked: not seen (trade-off)
        store.mark_dirty("nordic", ["603"], "activecampaign webhook", datetime.now(UTC))
        report = poll(cfg, url, store)
        assert report.counts["pulled"] == 1
        assert store.dirty_contacts("nordic") == {}
        store.close()
    invites = [m["To"] for m in sink.messages if ":invite:" in m["X-Connector-Key"]]
    assert invites == ["lead603@lund.dk"]
