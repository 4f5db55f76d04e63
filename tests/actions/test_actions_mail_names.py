"""Salespeople's and leads' names as the recipient's mail program reads them: every message
goes through a real SMTP server (aiosmtpd) and is parsed back with ``email.policy.default``;
From, Reply-To and To carry exactly the display name and address meant, whatever the name
holds (commas, quotes, apostrophes, ``<>``, ``@``, any script, very long names)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from connector.actions.context import ActionContext
from connector.actions.deliver import deliver_pending
from connector.actions.mail import invite_message
from connector.sandbox.memory_crm import MemoryCRM
from connector.sandbox.smtp_sink import SmtpSink
from connector.store import open_store
from connector.store.base import OutboxEntry

from ..e2e.helpers import client_config
from .test_actions_delivery import payload

NOW = datetime(2026, 11, 2, 9, tzinfo=UTC)

# names as CRMs hold them (first and last name joined), including the two of issue 22
NAMES = (
    "Åsa O'Neil <Sales>",
    "Jensen, Søren",
    "Søren Kierkegaard",
    "Æbelø Ærø-Østergård",
    "Jürgen Müller-Lüdenscheidt",
    "Björn Ö. Ångström",
    'Zoë "Zed" Ünal',
    "O'Brien, Seán",
    "D'Arcy & Sons",
    '"Quoted" Quinn',
    "Anna Berg <anna@example.com>",
    "sales@example.com",
    "Lars @ Sales",
    "Müller, Jürgen (Vertrieb)",
    "Dr. Ärztin; Team <Nord>",
    'Ünal, Zoë <zoe@x>, "Z"',
    "Mary-Jane O'Connor-Smith, Jr.",
    "Ñoño Núñez",
    "Łukasz Żółć",
    "Nguyễn Thị Minh Khai",
    "Сергей Петров, CEO",
    "Ελένη Παπαδοπούλου",
    "李小龍",
    "Ø",
    "José María García-Pérez y López de Ayala <Ventas España>",
    "François-Xavier de la Tour d'Auvergne du Plessis-Bellière et de Montmorency-Laval",
    "Ólafur Þórðarson Guðmundsdóttir Eiríksdóttir Hallgrímsson Björnsdóttir Sigurðardóttir",
    "Bartholomew Alexander Maximilian Fitzgerald-Worthington-Smythe, "
    "Managing Director, Northern Europe & Baltics (Sales)",
)


def mailbox(message, field: str) -> tuple[str, str]:
    """The one mailbox of an address field, as (display name, address)."""
    [addr] = message[field].addresses
    return addr.display_name, addr.addr_spec


def text_of(message) -> str:
    return message.get_content().replace("\r\n", "\n")


def delivered(sink: SmtpSink, **overrides) -> dict[str, dict]:
    """Every name as owner and lead, invite and note delivered; X-Connector-Key -> message."""
    store = open_store("sqlite://")
    cfg = client_config("acme", "hubspot", "http://unused", sink.port, **overrides)
    with store.transaction() as tx:
        for i, name in enumerate(NAMES, 1):
            data = payload(i, owner_name=name, owner_email=f"owner{i}@example-agency.com",
                           first_name=name, last_name=None)
            for kind in ("invite", "notify"):
                tx.enqueue(OutboxEntry("acme", str(i), kind, f"{kind}:{i}:1", data))
    report = deliver_pending(store, "acme", ActionContext(cfg, MemoryCRM()), NOW)
    store.close()
    assert report.sent == 2 * len(NAMES), report.errors
    return {m["X-Connector-Key"]: m for m in sink.messages}


def test_the_corpus_holds_at_least_20_names_with_the_hard_parts():
    assert len(NAMES) >= 20
    for part in (",", '"', "'", "<", ">", "@", "æ", "ø", "å", "ö", "ü"):
        assert any(part in name.lower() for name in NAMES), part
    assert max(len(name) for name in NAMES) > 78


@pytest.mark.parametrize("from_address", [None, "sales@example-agency.com"])
def test_every_name_arrives_exactly_in_from_reply_to_and_the_note(from_address):
    with SmtpSink() as sink:
        messages = delivered(sink, invite={"from_address": from_address}, notify={"to": []})
    for i, name in enumerate(NAMES, 1):
        owner = f"owner{i}@example-agency.com"
        invite, note = messages[f"acme:invite:{i}:1"], messages[f"acme:notify:{i}:1"]
        assert mailbox(invite, "From") == (name, from_address or owner)
        assert mailbox(invite, "Reply-To") == (name, owner)
        assert mailbox(invite, "To") == ("", f"lead{i}@example.com")
        assert invite["Subject"] == f"{name}, shall we talk about pricing?"
        body = text_of(invite)
        assert body.startswith(f"Hi {name},\n") and f"\n{name}\n{owner}\n" in body
        assert mailbox(note, "From") == ("connector", from_address or owner)
        assert mailbox(note, "To") == (name, owner)  # no notify.to: the owner gets it
        assert note["Subject"] == f"Warm lead: {name} (31 points, warm)"
        text = text_of(note)
        assert text.startswith(f"{name}  <lead{i}@example.com> at Lund ApS just turned warm")
        assert f"\nOwner: {name} <{owner}>\n" in text
        assert f"was sent in {name}'s name." in text


def test_the_note_goes_to_the_addresses_of_notify_to_as_written():
    with SmtpSink() as sink:
        messages = delivered(sink, notify={"to": ["Sales Team <sales@example-agency.com>",
                                                  "boss@example-agency.com"]})
    note = messages["acme:notify:2:1"]
    assert [(a.display_name, a.addr_spec) for a in note["To"].addresses] == [
        ("Sales Team", "sales@example-agency.com"), ("", "boss@example-agency.com")]


def test_an_owner_email_that_is_no_address_fails_the_invite_naming_it():
    cfg = client_config("acme", "hubspot", "http://unused", 25, invite={"from_address": None})
    with pytest.raises(ValueError, match="'Sales' is not an email address"):
        invite_message(cfg, payload(1, owner_email="Sales"), "invite:1:1")
