"""Safe rule changes (issue 16): a model change holds what it alone causes, the run guard
holds mass actions, and a salesperson's daily invite capacity queues invites in score order.

Against the HubSpot sandbox over HTTP and a real SMTP server (aiosmtpd), through the
`connector` commands a person runs (sync, status, actions release, leads).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from connector.cli import _load_commands, app
from connector.config import load_client
from connector.models import Contact, ContactState, Event, EventType, Transition, TransitionKind
from connector.sandbox.clock import ClockParts, FakeClock
from connector.sandbox.hubspot import HubSpotAccount, HubSpotSandbox
from connector.sandbox.server import Server
from connector.sandbox.smtp_sink import SmtpSink
from connector.store import open_store
from connector.store.base import StoredModel
from connector.sync import run_sync
from connector.sync.model_change import ModelChange
from connector.sync.runtime import make_job

from ..e2e.helpers import RULES, settings

_load_commands()
runner = CliRunner()
SITE = "https://lund.dk"
NEW_RULE = """
  - id: rival-holdings
    description: Works at Rival Holdings
    field: company
    one_of: [Rival Holdings]
    points: -100
"""
# warm from 25 instead of 30, and one rule that sends Rival Holdings to the floor
NEW_RULES = (RULES.read_text().replace("name: default", "name: warm-at-25", 1)
             .replace("warm_at: 30", "warm_at: 25", 1)
             .replace("{name: warm, from: 30}", "{name: warm, from: 25}", 1)
             + NEW_RULE)
# a typo'd rule: every contact gets -100 and falls to the floor
BROKEN_RULES = RULES.read_text().replace("name: default", "name: typo", 1) + """
  - id: broken
    description: Meant for students only
    field: email
    regex: '.'
    points: -100
"""


@pytest.fixture(scope="module")
def servers():
    app_ = HubSpotSandbox()
    with Server(app_) as server, SmtpSink() as sink:
        yield app_, server, sink


def lead(cid: str, company: str = "Lund ApS") -> Contact:
    email = f"lead{cid}@example.com"
    return Contact(id=cid, email=email, fields={"email": email, "first_name": "Maja",
                                                "last_name": "Lund", "company": company})


def visits(cid: str, now: datetime, *, services: int, opens: int,
           contact_page: bool = True, front_page: bool = False) -> list[Event]:
    """Contact page (10), service pages (5 each, at most 20), front page (3), opens (1 each)."""
    events = []
    if contact_page:
        events.append(Event(f"{cid}-c", cid, EventType.PAGE_VIEW, now - timedelta(hours=9),
                            url=f"{SITE}/contact"))
    for i in range(services):
        events.append(Event(f"{cid}-s{i}", cid, EventType.PAGE_VIEW,
                            now - timedelta(hours=8, minutes=i), url=f"{SITE}/services/s{i}"))
    if front_page:
        events.append(Event(f"{cid}-f", cid, EventType.PAGE_VIEW, now - timedelta(hours=7),
                            url=f"{SITE}/"))
    for i in range(opens):
        events.append(Event(f"{cid}-o{i}", cid, EventType.EMAIL_OPEN,
                            now - timedelta(hours=6, minutes=i), email_id=f"nl-{i}"))
    return events


class Client:
    """One client: a sandbox portal, its YAML file, its state database, the CLI. Its first
    sync acts on the leads already warm (``first_sync: act``) unless ``first_sync`` says
    otherwise (None: the default)."""

    def __init__(self, servers, tmp: Path, name: str, extra: str = "",
                 clock=None, url: str | None = None, first_sync: str | None = "act") -> None:
        app_, self.server, self.sink = servers
        self.name, self.token = name, f"pat-{name}-token"
        self.account = app_.add_account(self.token, HubSpotAccount(
            name, None, plan="enterprise", clock=clock, ten_second_limit=10**6,
            search_per_second=10**6))
        self.rules = tmp / "rules.yaml"
        self.rules.write_text(RULES.read_text())
        self.folder = tmp / "clients"
        self.folder.mkdir()
        self.file = self.folder / f"{name}.yaml"
        self.file.write_text(f"""\
crm: {{kind: hubspot, base_url: "{self.server.url}", token_env: SAFE_TOKEN, plan: enterprise,
      rate_limit: {{requests_per_second: 100000}}}}
rules: {self.rules}
owner_fallback: {{name: Linnea Berg, email: linnea@example-agency.com}}
invite: {{from_address: sales@example-agency.com}}
notify: {{to: [sales@example-agency.com]}}
smtp: {{host: 127.0.0.1, port: {self.sink.port}, timeout: 5}}
{f"first_sync: {first_sync}" if first_sync else ""}
{extra}""")
        self.url = url or f"sqlite:///{tmp / 'state.db'}"

    def cli(self, *args: str):
        env = {"SAFE_TOKEN": self.token, "CONNECTOR_STATE_URL": self.url}
        result = runner.invoke(app, [*args, "--config-dir", str(self.folder)], env=env)
        return result

    def sync_json(self, expect_exit: int = 0) -> dict:
        result = self.cli("sync", "--client", self.name, "--json")
        assert result.exit_code == expect_exit, result.output
        lines = result.output.splitlines()
        return json.loads("\n".join(lines[lines.index("{"):]))  # after the log lines

    def sent(self, kind: str) -> list[str]:
        """Contact ids of the messages of ``kind`` this client's syncs sent, in order."""
        return [m["X-Connector-Key"].split(":")[2] for m in self.sink.messages
                if m["X-Connector-Key"].startswith(f"{self.name}:{kind}:")]

    def unsubscribed(self) -> list[str]:
        return sorted(e for e, subs in self.account.unsubscribed.items() if subs)


def test_a_model_change_holds_what_it_alone_causes_until_released(servers, tmp_path,
                                                                  store_url):
    now = datetime.now(UTC)
    c = Client(servers, tmp_path, f"safe-model-{store_url[:6]}", url=store_url)
    c.account.add_contact(lead("11"), visits("11", now, services=2, opens=7, front_page=True))
    c.account.add_contact(lead("12"), visits("12", now, services=2, opens=2, front_page=True))
    c.account.add_contact(lead("13", "Rival Holdings"), visits("13", now, services=0, opens=2,
                                                               contact_page=False))
    c.account.add_contact(lead("14"), [])

    first = c.sync_json()
    assert first["counts"]["became_warm"] == 1 and c.sent("invite") == ["11"]
    c.sync_json()  # the connector's own score writes come back once: settled
    assert c.sent("invite") == ["11"] and c.unsubscribed() == []

    c.rules.write_text(NEW_RULES)  # the client switches to the new model
    changed = c.sync_json()
    counts = changed["counts"]
    assert counts["scored"] == 4  # every stored contact, with the new model
    assert counts.get("events_fetched_for", 0) == 0  # no engagement call for it
    assert counts["became_warm"] == 1 and counts["hit_floor"] == 1
    assert counts["actions_held_model"] == 3  # 12's invite and sales note, 13's unsubscribe
    assert c.sent("invite") == ["11"] and c.sent("notify") == ["11"]  # 0 new invites
    assert c.unsubscribed() == []  # 0 unsubscribes
    assert c.account.score_of("12", "connector_lead_score") == "25"  # scores ARE written
    assert c.account.score_of("13", "connector_lead_score") == "-30"
    assert any("the model changed" in line and f"actions release --client {c.name}" in line
               for line in changed["held"]), changed["held"]

    c.sync_json()  # held stays held
    assert c.sent("invite") == ["11"] and c.unsubscribed() == []

    status = c.cli("status")
    assert status.exit_code == 0, status.output
    assert "3 held" in status.output
    assert f"connector actions release --client {c.name}" in " ".join(status.output.split())
    listed = c.cli("actions", "list", "--client", c.name, "--status", "held")
    assert listed.exit_code == 0 and "model change: default (" in listed.output
    assert "warm-at-25" in listed.output

    released = c.cli("actions", "release", "--client", c.name)
    assert released.exit_code == 0, released.output
    assert released.output.count("released ") == 3
    c.sync_json()
    assert c.sent("invite") == ["11", "12"]  # exactly one more invite
    assert c.sent("notify") == ["11", "12"]
    assert c.unsubscribed() == ["lead13@example.com"]  # exactly one unsubscribe
    c.sync_json()
    assert c.sent("invite") == ["11", "12"] and c.unsubscribed() == ["lead13@example.com"]


def test_a_plain_sync_rescores_every_stored_contact_when_the_model_changes(servers, tmp_path):
    clock = FakeClock(datetime(2026, 11, 2, 9, tzinfo=UTC))
    c = Client(servers, tmp_path, "safe-rescore", clock=clock)
    for cid, services in (("41", 1), ("42", 2), ("43", 3)):
        c.account.add_contact(lead(cid), visits(cid, clock.now(), services=services, opens=2))
    store = open_store(c.url)

    def sync():
        job = make_job(load_client(c.file), settings(c.url), store, clock=ClockParts(now=clock.now),
                       env={"SAFE_TOKEN": c.token})
        return run_sync(job)

    sync()
    clock.advance(hours=1)
    assert sync().counts["scored"] == 3  # the connector's own writes come back once
    clock.advance(hours=1)
    assert sync().counts["scored"] == 0  # nothing changed: nothing to score
    c.rules.write_text(NEW_RULES)
    clock.advance(hours=1)
    report = sync()
    assert report.counts["pulled"] == 0 and report.counts["model_rescored"] == 3
    assert report.counts["events_fetched_for"] == 0  # from state: no engagement call
    assert report.counts["became_warm"] == 1  # 42: 25 points, warm from 25 now
    assert report.model and report.model.startswith("warm-at-25 (")
    assert {s.model_hash for s in store.get_contacts("safe-rescore", ["41", "42", "43"])
            .values()} == {report.model.split("(")[1].rstrip(")")}
    clock.advance(hours=1)
    assert sync().counts["scored"] == 0  # rescored once
    store.close()


def test_new_behaviour_after_a_model_change_is_acted_on_at_once(servers, tmp_path):
    now = datetime.now(UTC)
    c = Client(servers, tmp_path, "safe-behaviour")
    c.account.add_contact(lead("21"), visits("21", now, services=0, opens=0))  # 10: cold
    c.sync_json()
    c.sync_json()
    c.rules.write_text(NEW_RULES)
    # new behaviour: four service pages make 30, warm under the old model and the new
    for i in range(4):
        c.account.add_event(Event(f"21-n{i}", "21", EventType.PAGE_VIEW, now,
                                  url=f"{SITE}/services/n{i}"))
    report = c.sync_json()
    assert report["counts"]["became_warm"] == 1
    assert report["counts"].get("actions_held_model", 0) == 0
    assert c.sent("invite") == ["21"]  # the old model would have invited too: not held


def test_act_on_model_change_sends_at_once(servers, tmp_path):
    now = datetime.now(UTC)
    c = Client(servers, tmp_path, "safe-act", extra="on_model_change: act\n")
    c.account.add_contact(lead("31"), visits("31", now, services=2, opens=2, front_page=True))
    c.sync_json()
    c.sync_json()
    c.rules.write_text(NEW_RULES)
    report = c.sync_json()
    assert report["counts"].get("actions_held_model", 0) == 0
    assert c.sent("invite") == ["31"]


def test_the_guard_holds_a_mass_unsubscribe_caused_by_a_broken_rule(servers, tmp_path):
    now = datetime.now(UTC)
    c = Client(servers, tmp_path, "safe-guard", extra="on_model_change: act\n")
    for i in range(12):
        cid = str(400 + i)
        c.account.add_contact(lead(cid), visits(cid, now, services=1, opens=i % 4))
    c.sync_json()
    c.sync_json()
    assert c.unsubscribed() == []

    c.rules.write_text(BROKEN_RULES)  # a typo: -100 for everyone
    dry = c.cli("sync", "--client", "safe-guard", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "guard: 12 unsubscribes in one run, 100% of 12 contacts, more than " \
           "guard.max_unsubscribe_share (1%): a real run would hold them" in \
           " ".join(dry.output.split())
    result = c.cli("sync", "--client", "safe-guard")
    assert result.exit_code == 4, result.output  # the guard's own exit code
    text = " ".join(result.output.split())
    assert "12 actions held by the guard" in text
    assert "guard: 12 unsubscribes in one run, 100% of 12 contacts, more than " \
           "guard.max_unsubscribe_share (1%)" in text
    assert "connector actions release --client safe-guard" in text
    assert c.unsubscribed() == []  # nobody unsubscribed
    assert c.account.score_of("400", "connector_lead_score") == "-30"  # the scores are written

    again = c.sync_json()  # held stays held; nothing new to guard
    assert again["guard"] == [] and c.unsubscribed() == []
    listed = c.cli("actions", "list", "--client", "safe-guard", "--status", "held")
    assert listed.output.count("unsubscribe for contact") == 12

    # a person looked: release one on purpose; the rest stay held
    entry = next(e for e in open_store(c.url).outbox("safe-guard", ["held"])
                 if e.contact_id == "400")
    assert c.cli("actions", "release", "--client", "safe-guard", "--id",
                 str(entry.id)).exit_code == 0
    c.sync_json()
    assert c.unsubscribed() == ["lead400@example.com"]
    # ... and drops the rest for good, then fixes the rule: nobody else is unsubscribed
    dropped = c.cli("actions", "discard", "--client", "safe-guard")
    assert dropped.exit_code == 0 and dropped.output.count("discarded unsubscribe") == 11
    c.rules.write_text(RULES.read_text())
    fixed = c.sync_json()
    assert fixed["counts"]["model_rescored"] + fixed["counts"]["scored"] >= 12
    assert c.unsubscribed() == ["lead400@example.com"]
    assert c.account.score_of("401", "connector_lead_score") != "-30"  # corrected
    status = c.cli("status")
    assert status.exit_code == 0 and "held" not in status.output


def test_the_guard_holds_mass_invites(servers, tmp_path):
    now = datetime.now(UTC)
    c = Client(servers, tmp_path, "safe-invites", extra="guard: {max_invites_per_run: 2}\n")
    for i in range(3):
        cid = str(500 + i)
        c.account.add_contact(lead(cid), visits(cid, now, services=4, opens=i))
    report = c.sync_json(expect_exit=4)
    assert report["counts"]["actions_held_guard"] == 3
    assert c.sent("invite") == [] and c.sent("notify") == []
    assert c.cli("actions", "release", "--client", "safe-invites").exit_code == 0
    c.sync_json()
    assert sorted(c.sent("invite")) == ["500", "501", "502"]


def test_the_daily_invite_cap_queues_invites_and_releases_them_in_score_order(servers,
                                                                               tmp_path,
                                                                               store_url):
    clock = FakeClock(datetime(2026, 11, 2, 9, tzinfo=UTC))
    c = Client(servers, tmp_path, f"safe-cap-{store_url[:6]}", clock=clock, url=store_url,
               extra="invite: {from_address: sales@example-agency.com, "
                     "daily_cap_per_owner: 2}\n")
    now = clock.now()
    # scores 30..34 (contact page and four service pages, plus 0-4 opens), added in an order
    # that is not the score order
    for cid, opens in (("601", 1), ("602", 4), ("603", 0), ("604", 3), ("605", 2)):
        c.account.add_contact(lead(cid), visits(cid, now, services=4, opens=opens))
    store = open_store(c.url)
    job = make_job(load_client(c.file), settings(c.url), store, clock=ClockParts(now=clock.now),
                   env={"SAFE_TOKEN": c.token})

    day1 = run_sync(job)
    assert day1.counts["became_warm"] == 5 and day1.counts["invites_queued"] == 3
    assert c.sent("invite") == ["602", "604"]  # 34 and 33 points
    assert c.sent("notify") == ["602", "604"]  # a note waits with its invite

    leads = c.cli("leads", "--client", c.name)
    assert leads.exit_code == 0, leads.output
    queue = leads.output.split("invites queued by the daily cap")[1]
    assert queue.index("605") < queue.index("601") < queue.index("603")
    assert "2026-11-03 00:00" in queue

    clock.advance(hours=3)
    run_sync(job)  # the same day: the cap is reached
    assert c.sent("invite") == ["602", "604"]

    clock.advance(hours=13)  # 2026-11-03 01:00: a new day
    run_sync(job)
    assert c.sent("invite")[2:] == ["601", "605"]  # 32 and 31 (oldest entry first)
    clock.advance(days=1)
    run_sync(job)
    assert c.sent("invite")[4:] == ["603"]  # 30: the last
    assert c.sent("notify") == c.sent("invite")
    assert store.outbox(c.name, ["queued"]) == []
    store.close()


def test_which_transitions_a_model_change_alone_causes(tmp_path):
    """Scores from before the model was recorded are never held; a previous model whose
    text no longer loads holds every acting transition (the safe side)."""
    store = open_store(f"sqlite:///{tmp_path / 'state.db'}")
    now = datetime(2026, 11, 2, 9, tzinfo=UTC)
    store.save_model(StoredModel("c", "old", "default", "rules.yaml", RULES.read_text()), now)
    store.save_model(StoredModel("c", "gone", "gone", None, "rules: [unclosed"), now)
    cold = ContactState(score=25, tier="semi-warm", warm=False, at_floor=False)
    warm = Transition(TransitionKind.BECAME_WARM, "1", 25, "semi-warm", "warm", 1)
    tier = Transition(TransitionKind.TIER_CHANGED, "1", 25, "semi-warm", "warm", 1)
    person = lead("1")
    events = visits("1", now, services=2, opens=2, front_page=True)  # 25 points
    changes = ModelChange(store, "c", "new")

    held, label = changes.caused_by_change("old", cold, person, events, now, [warm, tier])
    assert held == {TransitionKind.BECAME_WARM} and label == "default (old)"  # warm at 30
    richer = visits("1", now, services=4, opens=2)  # 32: warm under the old model too
    assert changes.caused_by_change("old", cold, person, richer, now, [warm])[0] == set()
    assert changes.caused_by_change("gone", cold, person, events, now, [warm])[0] == {
        TransitionKind.BECAME_WARM}
    assert changes.caused_by_change(None, cold, person, events, now, [warm])[0] == set()
    assert changes.caused_by_change("new", cold, person, events, now, [warm])[0] == set()
    store.close()
