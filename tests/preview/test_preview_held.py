"""`connector rules preview` says which of its invites and unsubscribes the next sync holds,
why, and how to release them, and its numbers are the ones the sync then holds and sends
(issue 22, item 6): the model change's own holds (``on_model_change``) and the run guard's
(``guard``), per kind of action.

Against the HubSpot sandbox over HTTP and a real SMTP server (aiosmtpd): the preview
through the `connector` command, the sync through ``run_sync`` at the preview's moment.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime

import pytest

from connector.config import load_client
from connector.sandbox.clock import ClockParts, FakeClock
from connector.sandbox.hubspot import HubSpotSandbox
from connector.sandbox.server import Server
from connector.sandbox.smtp_sink import SmtpSink
from connector.store import open_store
from connector.sync import run_sync
from connector.sync.runtime import make_job

from ..actions.test_safe_rule_changes import NEW_RULE, Client, lead, visits
from ..e2e.helpers import RULES, settings

# the change: warm from 20 instead of 30; and Rival Holdings to the floor
WARM_AT_20 = (RULES.read_text().replace("name: default", "name: warm-at-20", 1)
              .replace("warm_at: 30", "warm_at: 20", 1)
              .replace("{name: warm, from: 30}", "{name: warm, from: 20}", 1) + NEW_RULE)
KINDS = ("invite", "notify", "unsubscribe")


@pytest.fixture(scope="module")
def servers():
    app_ = HubSpotSandbox()
    with Server(app_) as server, SmtpSink() as sink:
        yield app_, server, sink


@pytest.mark.parametrize("name, extra, held_by", [
    # the defaults: on_model_change: hold; the change alone causes every action
    ("held-hold", "", "model change"),
    # held by the change, they are not pending: the guard does not count them
    ("held-hold-guard", "guard: {max_invites_per_run: 3, min_unsubscribes: 1}\n",
     "model change"),
    # sent at once, but more than the run guard lets through: held by the guard (exit 4)
    ("held-act-guard", "on_model_change: act\n"
     "guard: {max_invites_per_run: 3, min_unsubscribes: 1}\n", "guard"),
    # sent at once
    ("held-act", "on_model_change: act\n", None),
])
def test_the_preview_holds_and_sends_what_the_next_sync_holds_and_sends(
        servers, tmp_path, name, extra, held_by):
    clock = FakeClock(datetime(2026, 11, 2, 9, tzinfo=UTC))
    c = Client(servers, tmp_path, name, clock=clock, extra=extra)
    now = clock.now()
    for i in range(5):  # 20..24 points: warm only from 20
        cid = str(70 + i)
        c.account.add_contact(lead(cid), visits(cid, now, services=2, opens=i))
    for i in range(3):  # Rival Holdings: at the floor under the new model
        cid = str(80 + i)
        c.account.add_contact(lead(cid, "Rival Holdings"),
                              visits(cid, now, services=0, opens=1, contact_page=False))
    c.account.add_contact(lead("90"), visits("90", now, services=4, opens=2))  # warm: 32
    store = open_store(c.url)

    def sync():
        job = make_job(load_client(c.file), settings(c.url), store, clock=ClockParts(now=clock.now),
                       env={"SAFE_TOKEN": c.token})
        return run_sync(job)

    assert sync().counts["became_warm"] == 1  # 90, invited at the first sync
    clock.advance(hours=1)
    sync()  # the connector's own writes come back once: settled
    clock.advance(hours=1)

    new_rules = tmp_path / "warm-at-20.yaml"
    new_rules.write_text(WARM_AT_20)
    html = tmp_path / "preview.html"
    at = ["--now", clock.now().isoformat()]
    shown = c.cli("rules", "preview", "--client", c.name, *at, "--json", str(new_rules))
    assert shown.exit_code == 0, shown.output
    data = json.loads(shown.output)
    text = c.cli("rules", "preview", "--client", c.name, *at, "--html", str(html),
                 str(new_rules))
    assert text.exit_code == 0, text.output
    promised = data["actions"]

    c.rules.write_text(WARM_AT_20)  # the client switches to the previewed model
    before = {e.dedupe_key for e in store.outbox(c.name)}
    sent_before = Counter(m["X-Connector-Key"].split(":")[1] for m in c.sink.messages)
    report = sync()
    assert report.status == "ok", report.errors
    new = [e for e in store.outbox(c.name) if e.dedupe_key not in before]
    sent = Counter(m["X-Connector-Key"].split(":")[1] for m in c.sink.messages) - sent_before
    did = {kind: {"planned": sum(e.kind == kind for e in new),
                  "held_model_change": sum(e.kind == kind and e.status == "held" and (
                      e.hold_reason or "").startswith("model change") for e in new),
                  "held_guard": sum(e.kind == kind and e.status == "held" and (
                      e.hold_reason or "").startswith("guard") for e in new),
                  "sent": sent[kind] if kind != "unsubscribe" else sum(
                      e.kind == kind and e.status == "sent" for e in new)}
           for kind in KINDS}
    assert promised == did  # per kind: planned, held (model change), held (guard), sent
    assert promised["invite"]["planned"] == 5 and promised["unsubscribe"]["planned"] == 3
    assert bool(report.guard) == (held_by == "guard")  # exit code 4 when the guard held

    words = " ".join(text.output.split())
    html_text = html.read_text()
    if held_by is None:
        assert data["held_reasons"] == [] and data["release"] is None
        assert "invites 5: 0 held (model change), 0 held (run guard), 5 sent" in words
        return
    assert data["release"] == f"connector actions release --client {c.name}"
    assert "release them after that sync" in words and data["release"] in words
    assert data["release"] in html_text and 'id="next-sync"' in html_text
    if held_by == "model change":
        assert "invites 5: 5 held (model change), 0 held (run guard), 0 sent" in words
        assert "unsubscribes 3: 3 held (model change)" in words
        assert any(r.startswith("model change: default (") and "warm-at-20" in r
                   for r in data["held_reasons"])
    else:
        assert "invites 5: 0 held (model change), 5 held (run guard), 0 sent" in words
        assert "guard: 5 invites in one run, more than guard.max_invites_per_run (3)" in words
        assert "guard: 3 unsubscribes in one run" in words
    assert f'<td class="num held-{"model" if held_by == "model change" else "guard"}">5</td>' \
        in html_text
    store.close()
