"""A client's first sync (issue 22, item 4): what happens to the leads already warm and the
contacts already at the floor when a portal is first connected is the client file's
``first_sync`` (baseline by default: recorded and listed, only later transitions acted on).

Against the HubSpot sandbox over HTTP and a real SMTP server (aiosmtpd), through the
`connector` commands a person runs and ``run_sync``.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest

from connector.config import load_client
from connector.models import Contact, Event, EventType
from connector.sandbox.clock import ClockParts, FakeClock
from connector.sandbox.hubspot import HubSpotSandbox
from connector.sandbox.server import Server
from connector.sandbox.smtp_sink import SmtpSink
from connector.store import open_store
from connector.sync import run_sync
from connector.sync.runtime import make_job

from ..e2e.helpers import settings
from .test_safe_rule_changes import SITE, Client, lead, visits

LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ [A-Z]+ ")


@pytest.fixture(scope="module")
def servers():
    app_ = HubSpotSandbox()
    with Server(app_) as server, SmtpSink() as sink:
        yield app_, server, sink


def rival(cid: str) -> Contact:
    """Works at a competitor: -50, at the floor (-30) from the start."""
    email = f"lead{cid}@rivalagency.com"
    return Contact(id=cid, email=email, fields={"email": email, "first_name": "Rune",
                                                "last_name": "Rival", "company": "Rival"})


def portal(c: Client, now: datetime) -> None:
    """Three leads already warm (30..32), one at the floor, one cold (10)."""
    for cid, opens in (("11", 0), ("12", 2), ("13", 1)):
        c.account.add_contact(lead(cid), visits(cid, now, services=4, opens=opens))
    c.account.add_contact(rival("14"), [])
    c.account.add_contact(lead("15"), visits("15", now, services=0, opens=0))


def lines(output: str) -> list[str]:
    """The report's lines: what the command prints after its log lines and progress bar."""
    return [line for line in output.splitlines() if line.strip()
            and not LOG_LINE.match(line) and "━" not in line]


def test_first_sync_records_the_leads_already_warm_and_acts_only_on_later_ones(servers,
                                                                               tmp_path):
    now = datetime.now(UTC)
    c = Client(servers, tmp_path, "first-base", first_sync=None)  # the default
    portal(c, now)

    dry = c.cli("sync", "--client", c.name, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert lines(dry.output)[0].startswith(
        "dry run, nothing saved: first sync of first-base (first_sync: baseline): 3 lead(s) "
        "already warm, 1 contact(s) already at the floor")

    first = c.cli("sync", "--client", c.name)
    assert first.exit_code == 0, first.output  # no guard, no exit 4
    head = lines(first.output)
    assert head[0].startswith("first sync of first-base (first_sync: baseline): 3 lead(s) "
                              "already warm, 1 contact(s) already at the floor: recorded as "
                              "the starting point, with no invite, sales note or unsubscribe")
    assert head[1] == ("next: `connector leads --client first-base --already-warm` (the "
                       "already-warm leads, for sales)")
    assert "Maja Lund <lead12@example.com> (contact 12), score 32" in head[2]  # best first
    assert c.sent("invite") == [] and c.sent("notify") == [] and c.unsubscribed() == []
    assert c.account.score_of("12", "connector_lead_score") == "32"  # scores ARE written
    assert c.account.score_of("14", "connector_lead_score") == "-30"
    assert open_store(c.url).outbox(c.name) == []  # nothing planned, nothing held

    listed = c.cli("leads", "--client", c.name, "--already-warm", "--json")
    assert listed.exit_code == 0, listed.output
    assert [row["contact_id"] for row in json.loads(listed.output)] == ["12", "13", "11"]
    table = c.cli("leads", "--client", c.name, "--already-warm")
    assert "3 lead(s) already warm at the first sync" in table.output

    # a lead that turns warm after the first sync is invited as usual
    for i in range(4):
        c.account.add_event(Event(f"15-n{i}", "15", EventType.PAGE_VIEW, now,
                                  url=f"{SITE}/services/n{i}"))
    later = c.cli("sync", "--client", c.name)
    assert later.exit_code == 0, later.output
    assert "first sync" not in later.output  # the first sync is over
    assert c.sent("invite") == ["15"] and c.sent("notify") == ["15"]
    assert c.unsubscribed() == []
    again = c.cli("leads", "--client", c.name, "--already-warm", "--json")
    assert [row["contact_id"] for row in json.loads(again.output)] == ["12", "13", "11"]


def test_a_lead_warm_at_the_first_sync_is_invited_once_it_cools_and_warms_again(servers,
                                                                                tmp_path):
    clock = FakeClock(datetime(2026, 11, 2, 9, tzinfo=UTC))
    c = Client(servers, tmp_path, "first-again", clock=clock, first_sync=None)
    c.account.add_contact(lead("21"), visits("21", clock.now(), services=4, opens=0))
    store = open_store(c.url)

    def sync():
        job = make_job(load_client(c.file), settings(c.url), store, clock=ClockParts(now=clock.now),
                       env={"SAFE_TOKEN": c.token})
        return run_sync(job)

    first = sync()
    assert first.first_sync == "baseline" and first.counts["first_sync_warm"] == 1
    assert first.counts["became_warm"] == 0 and c.sent("invite") == []
    assert [s.contact_id for s in store.already_warm(c.name)] == ["21"]
    clock.advance(hours=1)
    assert sync().first_sync is None  # the pull finished: the first sync is over

    clock.advance(days=60)  # quiet: decay takes the behaviour points away
    cooled = sync()
    assert cooled.counts["left_warm"] == 1 and store.already_warm(c.name) == []
    clock.advance(days=1)
    for i in range(4):
        c.account.add_event(Event(f"21-w{i}", "21", EventType.PAGE_VIEW, clock.now(),
                                  url=f"{SITE}/services/w{i}"))
    c.account.add_event(Event("21-c2", "21", EventType.PAGE_VIEW, clock.now(),
                              url=f"{SITE}/contact"))
    warm_again = sync()
    assert warm_again.counts["became_warm"] == 1
    assert c.sent("invite") == ["21"] and c.sent("notify") == ["21"]
    keys = [m["X-Connector-Key"] for m in c.sink.messages
            if m["X-Connector-Key"].startswith(f"{c.name}:invite:")]
    assert keys == [f"{c.name}:invite:21:1"]
    store.close()


def test_first_sync_hold_holds_them_for_review_and_release_sends_them(servers, tmp_path):
    now = datetime.now(UTC)
    c = Client(servers, tmp_path, "first-hold", first_sync="hold")
    portal(c, now)
    first = c.cli("sync", "--client", c.name)
    assert first.exit_code == 0, first.output
    head = lines(first.output)
    assert head[0] == ("first sync of first-hold (first_sync: hold): 3 lead(s) already warm, "
                       "1 contact(s) already at the floor: their 7 invite(s), sales note(s) "
                       "and unsubscribe(s) are held for review, none sent")
    assert head[1] == ("next: `connector actions list --client first-hold --status held`, "
                       "then `connector actions release --client first-hold` (or `discard`)")
    assert c.sent("invite") == [] and c.unsubscribed() == []
    held = open_store(c.url).outbox(c.name, ["held"])
    assert sorted(e.kind for e in held) == ["invite"] * 3 + ["notify"] * 3 + ["unsubscribe"]
    assert all("when the client was connected (first_sync: hold)" in (e.hold_reason or "")
               for e in held)
    assert c.cli("actions", "release", "--client", c.name).exit_code == 0
    c.sync_json()
    assert sorted(c.sent("invite")) == ["11", "12", "13"]
    assert c.unsubscribed() == ["lead14@rivalagency.com"]


def test_first_sync_act_acts_on_them_like_any_transition(servers, tmp_path):
    now = datetime.now(UTC)
    c = Client(servers, tmp_path, "first-act", first_sync="act")
    portal(c, now)
    report = c.sync_json()
    assert report["first_sync"]["mode"] == "act"
    assert report["first_sync"]["lines"][1] == "next: `connector actions list --client " \
                                               "first-act`"
    assert sorted(c.sent("invite")) == ["11", "12", "13"]
    assert c.unsubscribed() == ["lead14@rivalagency.com"]
    assert c.sync_json()["first_sync"] is None


def test_a_bad_first_sync_value_names_the_file_field_and_choices(servers, tmp_path):
    c = Client(servers, tmp_path, "first-bad", first_sync="invite-everyone")
    result = c.cli("sync", "--client", c.name)
    assert result.exit_code == 2, result.output
    text = " ".join(result.output.split())
    assert "first-bad.yaml" in text and "first_sync" in text
    assert "'baseline', 'act' or 'hold'" in text


def test_a_first_sync_stopped_halfway_goes_on_and_a_fresh_state_starts_one_again(servers,
                                                                                  tmp_path):
    clock = FakeClock(datetime(2026, 11, 2, 9, tzinfo=UTC))
    db = tmp_path / "fresh.db"
    c = Client(servers, tmp_path, "first-stop", clock=clock, first_sync=None,
               url=f"sqlite:///{db}")
    for i in range(6):
        cid = str(30 + i)
        c.account.add_contact(lead(cid), visits(cid, clock.now(), services=4, opens=i))
    store = open_store(c.url)

    def job(stop_at: int | None = None):
        j = make_job(load_client(c.file), settings(c.url), store, clock=ClockParts(now=clock.now),
                     env={"SAFE_TOKEN": c.token})
        j.batch_size = 2
        if stop_at is not None:
            pull = j.crm.iter_contacts

            def pull_and_stop(since, until):
                for i, contact in enumerate(pull(since, until)):
                    if i == stop_at:  # SIGTERM arrives inside the second batch
                        j.stop.set()
                    yield contact

            j.crm.iter_contacts = pull_and_stop  # type: ignore[method-assign]
        return j

    stopped = run_sync(job(stop_at=3))
    assert stopped.status == "interrupted" and stopped.first_sync == "baseline"
    assert stopped.counts["first_sync_warm"] == 2  # the first batch, recorded
    assert store.get_bookmark(c.name, "contacts") is None
    clock.advance(minutes=15)
    rest = run_sync(job())
    assert rest.status == "ok" and rest.first_sync == "baseline"  # still the first sync
    assert rest.counts["first_sync_warm"] == 4 and rest.counts["became_warm"] == 0
    assert c.sent("invite") == [] and len(store.already_warm(c.name)) == 6
    store.close()

    for suffix in ("", "-wal", "-shm"):  # a re-deploy: a fresh, empty state database
        (tmp_path / f"fresh.db{suffix}").unlink(missing_ok=True)
    clock.advance(minutes=15)
    store = open_store(c.url)
    again = run_sync(job())
    assert again.first_sync == "baseline" and again.counts["first_sync_warm"] == 6
    assert c.sent("invite") == [] and store.outbox(c.name) == []
    store.close()
