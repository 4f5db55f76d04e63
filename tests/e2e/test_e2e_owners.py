"""Salespeople as the CRM holds them, through the real sync: an owner's name (HubSpot
owners' firstName/lastName, ActiveCampaign users') arrives exactly in the invite and the
note, and an owner the connector cannot send as (no email, not found) is replaced by
``owner_fallback`` openly: the note names the CRM's owner and who stands in, the sync
report and `connector status` warn."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from typer.testing import CliRunner

from connector.cli import _load_commands, app
from connector.models import Owner
from connector.sandbox.activecampaign import ACAccount, ACSandbox
from connector.sandbox.clock import FakeClock
from connector.sandbox.hubspot import HubSpotAccount, HubSpotSandbox
from connector.sandbox.server import Server
from connector.sandbox.smtp_sink import SmtpSink
from connector.store import open_store
from connector.sync import run_sync

from ..scoring.scenarios import story_002
from .helpers import client_config, sandbox_job, story_contact

_load_commands()
TOKEN = "pat-na1-owners-secret"
FALLBACK = "Linnea Berg <linnea@example-agency.com>"
# `connector status` lists the warnings of the last 24 hours of wall-clock time
START = datetime.now(UTC).replace(microsecond=0)


def mailbox(message, field: str) -> tuple[str, str]:
    [addr] = message[field].addresses
    return addr.display_name, addr.addr_spec


def by_key(sink: SmtpSink) -> dict:
    return {m["X-Connector-Key"]: m for m in sink.messages}


def warm_up(account, clock, *contact_ids: str) -> None:
    for cid in contact_ids:
        for event in story_002(cid, clock.now()):
            account.add_event(event)
    clock.advance(minutes=15)


@pytest.fixture
def hubspot(store_url):
    clock = FakeClock(START)
    sandbox = HubSpotSandbox()
    account = sandbox.add_account(TOKEN, HubSpotAccount(
        "acme", None, plan="enterprise", clock=clock, ten_second_limit=100_000,
        search_per_second=100_000))
    # the sandbox serves firstName = the first word, lastName = the rest
    account.owners = [Owner("201", "Åsa O'Neil <Sales>", "asa@example-agency.com"),
                      Owner("202", "Jensen, Søren", "soren@example-agency.com"),
                      Owner("203", "Ærling Pedersen", ""),
                      Owner("204", "Bo Ek", "Sales")]
    for cid, owner in (("5001", "201"), ("5002", "202"), ("5003", "203"), ("5004", "204")):
        account.add_contact(replace(story_contact(cid, f"lead{cid}@lund.dk"), owner_id=owner))
    with Server(sandbox) as server, SmtpSink() as sink:
        client = client_config("acme", "hubspot", server.url, sink.port,
                               crm={"plan": "enterprise"})
        store = open_store(store_url)
        job = sandbox_job(client, server.url, TOKEN, clock, store, store_url)
        yield account, job, clock, sink, store
        store.close()


def test_hubspot_owner_names_arrive_exactly_in_the_invite_and_the_note(hubspot):
    account, job, clock, sink, store = hubspot
    run_sync(job)
    warm_up(account, clock, "5001", "5002")
    run_sync(job)
    messages = by_key(sink)
    for cid, name, email in (("5001", "Åsa O'Neil <Sales>", "asa@example-agency.com"),
                             ("5002", "Jensen, Søren", "soren@example-agency.com")):
        invite = messages[f"acme:invite:{cid}:1"]
        assert mailbox(invite, "From") == (name, "sales@example-agency.com")
        assert mailbox(invite, "Reply-To") == (name, email)
        assert invite.get_content().rstrip().endswith(f"{name}\r\n{email}")
        note = messages[f"acme:notify:{cid}:1"]
        assert mailbox(note, "From") == ("connector", "sales@example-agency.com")
        assert mailbox(note, "To") == ("", "sales@example-agency.com")
        assert f"Owner: {name} <{email}>\r\n" in note.get_content()


def test_an_owner_without_email_is_named_in_the_note_and_warned_about(hubspot, store_url,
                                                                        tmp_path, monkeypatch):
    account, job, clock, sink, store = hubspot
    run_sync(job)
    warm_up(account, clock, "5003", "5004")
    report = run_sync(job)

    invite = by_key(sink)["acme:invite:5003:1"]
    assert mailbox(invite, "Reply-To") == ("Linnea Berg", "linnea@example-agency.com")
    note = by_key(sink)["acme:notify:5003:1"].get_content()
    assert ("Owner: Ærling Pedersen (HubSpot owner 203) has no email address in HubSpot, "
            f"so {FALLBACK} (owner_fallback) stands in.") in note
    assert "was sent in Linnea Berg's name instead." in note

    warning = ("HubSpot owner 203 (Ærling Pedersen) has no email address in HubSpot: "
               f"invites and notes for their contacts go out from owner_fallback {FALLBACK} "
               "instead; fix: give the owner an email address in HubSpot or assign the "
               "contacts to another owner")
    unusable = ("HubSpot owner 204 (Bo Ek) has no usable email address ('Sales') in HubSpot: "
                f"invites and notes for their contacts go out from owner_fallback {FALLBACK} "
                "instead; fix: give the owner an email address in HubSpot or assign the "
                "contacts to another owner")
    assert sorted(report.warnings) == [warning, unusable]
    assert report.counts["owner_fallback"] == 2
    assert mailbox(by_key(sink)["acme:invite:5004:1"], "Reply-To") == (
        "Linnea Berg", "linnea@example-agency.com")
    assert sorted(report.as_dict()["warnings"]) == [warning, unusable]

    clock.advance(minutes=15)
    assert run_sync(job).warnings == []  # nothing planned: nothing to warn about
    monkeypatch.setenv("CONNECTOR_STATE_URL", store_url)
    monkeypatch.setenv("CONNECTOR_CONFIG_DIR", str(tmp_path))  # no client files: state only
    runner = CliRunner()
    shown = runner.invoke(app, ["status"])
    assert shown.exit_code == 0, shown.output
    for note in (warning, unusable):
        assert f"warning: {note}" in " ".join(shown.output.split())
    as_json = runner.invoke(app, ["status", "--json"])
    assert sorted(json.loads(as_json.output)["clients"]["acme"]["warnings"]) == [
        warning, unusable]


@pytest.fixture
def activecampaign(store_url):
    clock = FakeClock(START)
    sandbox = ACSandbox()
    account = sandbox.add_account(TOKEN, ACAccount("nordic", None, clock=clock,
                                                   requests_per_second=100_000))
    account.users["7"] = Owner("7", "Søren Ærø-Østergård, Jr.", "soren@example-agency.com")
    for cid, owner in (("1", "7"), ("2", "99")):  # user 99 does not exist (deleted)
        account.add_contact(replace(story_contact(cid, f"lead{cid}@lund.dk"), owner_id=owner))
    with Server(sandbox) as server, SmtpSink() as sink:
        client = client_config("nordic", "activecampaign", server.url, sink.port,
                               invite={"from_address": None}, notify={"to": []})
        store = open_store(store_url)
        job = sandbox_job(client, server.url, TOKEN, clock, store, store_url)
        yield account, job, clock, sink
        store.close()


def test_activecampaign_user_names_arrive_and_a_missing_user_is_warned_about(activecampaign):
    account, job, clock, sink = activecampaign
    run_sync(job)
    warm_up(account, clock, "1", "2")
    report = run_sync(job)
    messages = by_key(sink)
    name, email = "Søren Ærø-Østergård, Jr.", "soren@example-agency.com"
    invite = messages["nordic:invite:1:1"]
    assert mailbox(invite, "From") == (name, email)
    assert mailbox(invite, "Reply-To") == (name, email)
    note = messages["nordic:notify:1:1"]
    assert mailbox(note, "To") == (name, email)
    assert f"Owner: {name} <{email}>\r\n" in note.get_content()

    orphan = messages["nordic:notify:2:1"]
    assert mailbox(orphan, "To") == ("Linnea Berg", "linnea@example-agency.com")
    assert ("Owner: ActiveCampaign owner 99 is not found in ActiveCampaign, so "
            f"{FALLBACK} (owner_fallback) stands in.") in orphan.get_content()
    assert report.warnings == [
        "ActiveCampaign owner 99 is not found in ActiveCampaign: invites and notes for "
        f"their contacts go out from owner_fallback {FALLBACK} instead; fix: assign the "
        "contacts to an existing owner in ActiveCampaign"]
