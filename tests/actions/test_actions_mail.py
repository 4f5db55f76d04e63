"""The mails as a recipient sees them: plain text never HTML-escaped, Date and Message-ID on
every mail, and SMTP credentials never sent without TLS unless the client file says so."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from connector.actions.context import ActionContext
from connector.actions.deliver import deliver_pending
from connector.actions.mail import invite_message, notify_message
from connector.config import load_client
from connector.errors import ClientConfigError
from connector.sandbox.memory_crm import MemoryCRM
from connector.sandbox.smtp_sink import SmtpSink
from connector.store import open_store
from connector.store.base import OutboxEntry

from ..e2e.helpers import RULES, client_config
from .test_actions_delivery import payload

NOW = datetime(2026, 11, 2, 9, tzinfo=UTC)
ODD = {"first_name": "Seán <O'Brien>", "last_name": "D'Arcy & Sons", "company": "A&B <Ltd>",
       "top_interest": "pricing & plans", "interests": {"pricing & plans": 12}}


def test_names_with_quotes_ampersands_and_brackets_arrive_unescaped(tmp_path):
    store = open_store(f"sqlite:///{tmp_path / 's.db'}")
    with SmtpSink() as sink:
        cfg = client_config("acme", "hubspot", "http://unused", sink.port)
        with store.transaction() as tx:
            for kind in ("invite", "notify"):
                tx.enqueue(OutboxEntry("acme", "1", kind, f"{kind}:1:1", payload(1, **ODD)))
        deliver_pending(store, "acme", ActionContext(cfg, MemoryCRM()), NOW)
    invite, notify = sorted(sink.messages, key=lambda m: m["X-Connector-Key"])
    assert invite["Subject"] == "Seán <O'Brien>, shall we talk about pricing & plans?"
    assert notify["Subject"].startswith("Warm lead: Seán <O'Brien> D'Arcy & Sons")
    for message in (invite, notify):
        text = message["Subject"] + message.get_content()
        assert "A&B <Ltd>" in text
        for escaped in ("&#39;", "&amp;", "&lt;", "&gt;", "&#34;"):
            assert escaped not in text, (escaped, text)
    store.close()


@pytest.mark.parametrize("build", [invite_message, notify_message])
def test_every_mail_has_a_date_and_a_message_id_that_is_stable_per_action(build):
    cfg = client_config("acme", "hubspot", "http://unused", 25)
    first = build(cfg, payload(7), "invite:7:2")
    again = build(cfg, payload(7), "invite:7:2")
    assert first["Date"] and first["Date"].datetime.tzinfo is not None
    assert first["Message-ID"] == again["Message-ID"] == \
        "<invite.7.2.acme@example-agency.com>"
    assert build(cfg, payload(7), "invite:7:3")["Message-ID"] != first["Message-ID"]


def _client_file(tmp_path, smtp: str):
    path = tmp_path / "acme.yaml"
    path.write_text(f"""\
crm: {{kind: hubspot, token_env: T}}
rules: {RULES}
owner_fallback: {{name: A B, email: a@b.co}}
smtp: {{{smtp}}}
""")
    return path


def test_credentials_without_tls_are_refused_unless_the_file_allows_them(tmp_path):
    path = _client_file(tmp_path, "host: mail.example.com, username: mailer, "
                                  "password_env: SMTP_PW")
    with pytest.raises(ClientConfigError) as caught:
        load_client(path)
    message = str(caught.value)
    assert str(path) in message and "smtp" in message
    assert "smtp.starttls: true" in message and "smtp.allow_plain_auth: true" in message
    for allowed in ("starttls: true", "ssl: true", "allow_plain_auth: true"):
        path = _client_file(tmp_path, "host: mail.example.com, username: mailer, "
                                      f"password_env: SMTP_PW, {allowed}")
        assert load_client(path).smtp.username == "mailer"


def test_starttls_that_the_server_lacks_fails_before_any_credential_is_sent(tmp_path):
    store = open_store(f"sqlite:///{tmp_path / 's.db'}")
    with SmtpSink() as sink:  # offers neither STARTTLS nor AUTH
        cfg = client_config("acme", "hubspot", "http://unused", sink.port,
                            smtp={"starttls": True, "username": "mailer",
                                  "password_env": "SMTP_PW"})
        with store.transaction() as tx:
            tx.enqueue(OutboxEntry("acme", "1", "invite", "invite:1:1", payload(1)))
        report = deliver_pending(store, "acme", ActionContext(cfg, MemoryCRM(), "pw-secret"),
                                 NOW)
    [row] = store.outbox("acme")
    assert row.status == "failed" and "does not support STARTTLS" in row.last_error
    assert "pw-secret" not in " ".join(report.errors) and not sink.messages
    store.close()
