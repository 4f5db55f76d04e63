"""The warm-up marker (``connector_invited_at``), the same on every CRM: written, read back
as the same instant, and delivered with every pulled contact."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from connector.crm.base import ScoreProperty

LATER = datetime(2026, 11, 2, tzinfo=UTC)


def test_the_marker_round_trips_and_comes_with_the_pull(harness):
    crm = harness.crm
    crm.ensure_score_property(ScoreProperty())
    first, other = list(crm.iter_contacts(None, LATER))[:2]
    assert first.invited_at is None and crm.get_invited_at(first) is None
    at = datetime(2026, 11, 1, 9, 30, 15, tzinfo=UTC)
    crm.set_invited_at(first, at)  # creates the property / field on first use
    crm.set_invited_at(first, at + timedelta(days=1))  # then replaces the value
    assert crm.get_invited_at(first) == at + timedelta(days=1)
    assert crm.get_invited_at(other) is None
    pulled = {c.id: c for c in crm.iter_contacts(None, LATER)}
    assert pulled[first.id].invited_at == at + timedelta(days=1)
    assert pulled[other.id].invited_at is None
    assert all(c.score_in_crm is None for c in pulled.values())  # the score is untouched


def test_the_marker_is_a_date_time_property_in_hubspot_and_a_text_field_in_activecampaign(
        harness):
    crm = harness.crm
    crm.ensure_score_property(ScoreProperty())
    contact = next(iter(crm.iter_contacts(None, LATER)))
    crm.set_invited_at(contact, datetime(2026, 11, 1, 9, tzinfo=UTC))
    if crm.kind == "hubspot":
        prop = harness.account.properties["connector_invited_at"]
        assert (prop["type"], prop["fieldType"], prop["groupName"]) == (
            "datetime", "date", "connector")
        assert harness.account.contacts[contact.id]["props"]["connector_invited_at"] == \
            "2026-11-01T09:00:00.000Z"
    elif crm.kind == "activecampaign":
        [field] = [f for f in harness.account.fields.values()
                   if f["perstag"] == "CONNECTOR_INVITED_AT"]
        assert field["type"] == "text"
        assert harness.account.value_of(contact.id, "CONNECTOR_INVITED_AT") == \
            "2026-11-01T09:00:00Z"
