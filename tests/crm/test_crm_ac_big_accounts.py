"""An agency's ActiveCampaign account holds more than one page of custom fields and tags
(issue 21): every page of ``GET /fields`` and ``GET /tags`` is read, so the score field,
the fit fields and the tags past the first 100 are found. Real adapter over HTTP against
the sandbox, a real sync into SQLite / PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from connector.models import Contact
from connector.sandbox.activecampaign import ACAccount, ACSandbox
from connector.sandbox.clock import FakeClock
from connector.sandbox.server import Server
from connector.store import open_store
from connector.sync import run_sync

from ..e2e.helpers import client_config, sandbox_job

START = datetime(2026, 11, 2, 9, tzinfo=UTC)
TOKEN = "ac-agency-secret"
RULES = """\
version: 1
name: agency
range: {min: -30, max: 100}
warm_at: 30
rules:
  - id: vip
    description: Tagged VIP by the agency
    field: tags
    equals: vip-2026
    points: 40
  - id: ceo
    description: A CEO
    field: job_title
    contains: CEO
    points: 15
"""


@pytest.fixture
def agency(store_url, tmp_path):
    clock = FakeClock(START)
    app = ACSandbox()
    account = app.add_account(TOKEN, ACAccount("agency", None, clock=clock,
                                               requests_per_second=100_000,
                                               custom_fields=150, tags=150))
    when = START - timedelta(days=2)
    for i in (1, 2):
        account.add_contact(Contact(
            id=str(i), email=f"lead{i}@agency-client.dk", created_at=when, updated_at=when,
            fields={"job_title": "CEO" if i == 1 else "Intern"}))
    vip = account.tag(1, "vip-2026")
    rules = tmp_path / "agency.yaml"
    rules.write_text(RULES)
    with Server(app) as server:
        client = client_config("agency", "activecampaign", server.url, 2525,
                               rules=str(rules), invite={"enabled": False},
                               notify={"enabled": False}, unsubscribe={"enabled": False})
        job = sandbox_job(client, server.url, TOKEN, clock, open_store(store_url), store_url)
        yield app, account, job.crm, job, vip
        job.store.close()


def test_an_account_with_150_fields_and_150_tags_is_scored_from_fields_and_tags_past_100(
        agency):
    app, account, crm, job, vip = agency
    assert int(account._field_id("JOB_TITLE")) > 100 and int(vip) > 150
    report = run_sync(job, full=True)
    assert report.status == "ok", report.errors
    # the score field is created as field 155: written, not "the score field does not exist"
    assert int(account._field_id(crm.score_tag)) > 150
    assert account.value_of("1", crm.score_tag) == "55"  # VIP tag 40 + CEO 15
    assert account.value_of("2", crm.score_tag) == "0"
    stored = job.store.get_contacts("agency", ["1"])["1"]
    assert stored.fields["job_title"] == "CEO" and "vip-2026" in stored.fields["tags"]
    assert app.ledger.count("/api/3/fields") >= 2  # more than one page was read


def test_fit_fields_and_tags_past_the_first_page_are_read(agency):
    app, account, crm, job, vip = agency
    contacts = {c.id: c for c in crm.iter_contacts(None, START)}
    assert contacts["1"].fields["job_title"] == "CEO"  # field 151, not None
    assert contacts["1"].fields["tags"] == ["vip-2026"]  # tag 151's name, not its id


def test_add_tag_finds_a_tag_past_the_first_page_and_creates_no_duplicate(agency):
    app, account, crm, job, vip = agency
    contact = crm.get_contacts_by_id(["2"])[0]
    before = dict(account.tags)
    crm.add_tag(contact, "vip-2026")
    crm.add_tag(contact, "agency-tag-140")
    assert account.tags == before  # no tag created: both were found
    assert (2, vip) in account.contact_tags and (2, "140") in account.contact_tags
    crm.add_tag(contact, "warm-lead")  # a new one is created once
    crm.add_tag(crm.get_contacts_by_id(["1"])[0], "warm-lead")
    assert list(account.tags.values()).count("warm-lead") == 1
