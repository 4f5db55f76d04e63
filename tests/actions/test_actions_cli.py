"""`connector actions list|retry|resolve` and `connector status` as an operator uses them,
and every command a delivery message names exists and works."""

from __future__ import annotations

import re
import shlex
from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from connector.actions.context import ActionContext
from connector.actions.deliver import deliver_pending
from connector.cli import _load_commands, app
from connector.sandbox.memory_crm import MemoryCRM
from connector.sandbox.smtp_sink import SmtpSink
from connector.store import open_store
from connector.store.base import OutboxEntry

from ..e2e.helpers import RULES, client_config
from .test_actions_delivery import payload

_load_commands()
runner = CliRunner()
NOW = datetime.now(UTC)
COMMAND = re.compile(r"`connector (actions [^`]+)`")


@pytest.fixture
def operator(tmp_path, monkeypatch):
    """A client whose outbox holds one entry in each state a person has to look at."""
    clients = tmp_path / "clients"
    clients.mkdir()
    (clients / "acme.yaml").write_text(f"""\
crm: {{kind: hubspot, base_url: "http://127.0.0.1:9", token_env: T_ACME}}
rules: {RULES}
owner_fallback: {{name: A B, email: a@b.co}}
""")
    url = f"sqlite:///{tmp_path / 'state.db'}"
    monkeypatch.setenv("CONNECTOR_CONFIG_DIR", str(clients))
    monkeypatch.setenv("CONNECTOR_STATE_URL", url)
    monkeypatch.setenv("T_ACME", "tok")
    store = open_store(url)
    with store.transaction() as tx:
        for i in range(1, 6):
            tx.enqueue(OutboxEntry("acme", str(i), "invite", f"invite:{i}:1", payload(i)))
    for _ in range(5):
        store.claim_next("acme", NOW)
    ids = [e.id for e in store.outbox("acme")]
    store.mark_sent(ids[0], NOW, "emailed")
    store.mark_failed(ids[1], "SMTP x: answered 550 5.1.1 no such user at RCPT TO", NOW)
    store.mark_unknown(ids[2], "connection lost after the message was handed over", NOW)
    store.mark_unknown(ids[3], "interrupted during delivery", NOW)
    store.defer(ids[4], "451 try later", NOW + timedelta(minutes=8), NOW)
    yield store, ids
    store.close()


def cli(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def test_list_shows_state_attempts_last_error_next_attempt_and_the_commands(operator):
    store, ids = operator
    out = cli("actions", "list", "--client", "acme").output
    for text in ("failed", "550 5.1.1 no such user", "unknown", "handed over", "pending",
                 (NOW + timedelta(minutes=8)).strftime("%Y-%m-%d %H:%M"),
                 "connector actions resolve --client acme", "connector actions retry "
                 "--client acme"):
        assert text in out, (text, out)
    assert f"id {ids[0]}:" not in out and "emailed" not in out  # sent: only with --all
    assert f"id {ids[0]}:" in cli("actions", "list", "--client", "acme", "--all").output


def test_retry_requeues_failed_and_refuses_unknown(operator):
    store, ids = operator
    result = cli("actions", "retry", "--client", "acme", "--id", str(ids[2]))
    assert result.exit_code == 1 and "may have been sent" in result.output
    assert "actions resolve --client acme --id" in result.output
    result = cli("actions", "retry", "--client", "acme", "--id", str(ids[1]))
    assert result.exit_code == 0 and "requeued" in result.output
    statuses = {e.id: e.status for e in store.outbox("acme")}
    assert statuses[ids[1]] == "pending" and statuses[ids[2]] == "unknown"


def test_resolve_settles_unknown_as_sent_or_requeues_it(operator):
    store, ids = operator
    assert cli("actions", "resolve", "--client", "acme", "--id", str(ids[2])).exit_code == 2
    assert cli("actions", "resolve", "--client", "acme", "--id", str(ids[2]),
               "--sent").exit_code == 0
    assert cli("actions", "resolve", "--client", "acme", "--all-unknown",
               "--not-sent").exit_code == 0
    rows = {e.id: e for e in store.outbox("acme")}
    assert rows[ids[2]].status == "sent" and "by a person" in rows[ids[2]].detail
    assert rows[ids[3]].status == "pending" and rows[ids[3]].next_attempt_at is None
    bad = cli("actions", "resolve", "--client", "acme", "--id", "999", "--sent")
    assert bad.exit_code == 2 and "no outbox entry 999" in bad.output


def test_status_counts_actions_and_names_the_actions_command(operator):
    out = cli("status").output
    assert "1 pending" in out and "2 unknown" in out and "1 failed" in out
    assert "connector actions list --client acme" in out
    assert "connector actions resolve --client acme" in out


def test_every_command_a_delivery_message_names_runs(tmp_path, monkeypatch, operator):
    """The messages of a failed, an unknown and an interrupted delivery, run as written."""
    store, ids = operator
    lines = []
    with SmtpSink() as sink:
        cfg = client_config("acme", "hubspot", "http://unused", sink.port)
        with store.transaction() as tx:
            tx.enqueue(OutboxEntry("acme", "8", "invite", "invite:8:1", payload(8)))
            tx.enqueue(OutboxEntry("acme", "9", "invite", "invite:9:1", payload(9)))
        sink.set_mode("550", fail_at="RCPT")
        sink.on_data = None
        ctx = ActionContext(cfg, MemoryCRM())
        entry = store.claim_next("acme", NOW, ids[-1])  # a run dies with #8 in flight
        from connector.actions.deliver import settle_hint

        [recovered] = store.recover_interrupted("acme", NOW)
        assert recovered.id == entry.id
        lines.append(settle_hint("acme", recovered))
        lines.extend(deliver_pending(store, "acme", ctx, NOW).errors)  # 550 for #9
    commands = [c for line in lines for c in COMMAND.findall(line)]
    assert len(commands) == 3, lines
    results = [cli(*shlex.split(command)) for command in commands]
    # all exist and parse; resolve --sent settles #8, so its --not-sent twin leaves it as is
    assert [r.exit_code for r in results] == [0, 1, 0], [r.output for r in results]
    assert "is sent; nothing to resolve" in results[1].output
    rows = {e.contact_id: e.status for e in store.outbox("acme")}
    assert rows["8"] == "sent" and rows["9"] == "pending"  # resolved --sent; requeued
