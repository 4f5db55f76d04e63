"""`connector status` in an 80-column terminal, as a new user first sees it: every client
name whole, counts in words, no line wider than the terminal; `--json` has every detail."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from connector.store import open_store
from connector.store.base import OutboxEntry

from .helpers import RULES

NOW = datetime.now(UTC)
CONFIGURED = ("nordisk-marketing-bureau-kunde-oe-hubspot",
              "scandinavian-industrial-supplies-activecampaign")
STATE_ONLY = "nordisk-marketing-bureau-kunde-ø"  # its file was renamed; its state stays
COUNTS = {"pulled": 120, "scored": 118, "written": 117, "unchanged": 1, "write_failed": 1,
          "became_warm": 4, "actions_sent": 1, "actions_failed": 2, "skipped": 2,
          "events": 960, "events_fetched_for": 118, "hit_floor": 1, "due": 0}
ERROR = ("hubspot client 'nordisk-marketing-bureau-kunde-oe-hubspot': POST "
         "/crm/v3/objects/contacts/batch/update (HTTP 502): an HTML error page titled "
         "'502 Bad Gateway'; fix: the CRM is failing; the next sync retries")
SKIPPED = {"1017": "the CRM answered 400: Property values were not valid: "
                   "[{\"isValid\":false,\"message\":\"1.5 is not a valid integer\"}]",
           "1018": "no email address; the contact cannot be invited or unsubscribed"}


def _payload(i: int) -> dict:
    return {"contact_id": str(i), "email": f"lead{i}@example.com", "score": 31}


def _fill(url: str) -> None:
    """Several clients: one with actions in several states, skipped records and a failed
    run with an error; one that ran cleanly; one left in the state only."""
    store = open_store(url)
    busy, calm = CONFIGURED
    run = store.start_run(busy, "sync", NOW - timedelta(minutes=3))
    store.finish_run(run, "failed", NOW - timedelta(minutes=1), COUNTS, [ERROR], {})
    with store.transaction() as tx:
        for i in range(1, 8):
            tx.enqueue(OutboxEntry(busy, str(i), "invite", f"invite:{i}:1", _payload(i)))
        for cid, reason in SKIPPED.items():
            tx.record_skipped(busy, cid, reason, run)
    ids = [e.id for e in store.outbox(busy)]
    store.set_outbox_status(busy, ids[:3], "held", reason="model change: default (ab12)",
                            next_attempt_at=None, now=NOW)
    for _ in range(3):
        claimed = store.claim_next(busy, NOW)
        assert claimed is not None and claimed.id is not None
        if claimed.id == ids[5]:
            store.mark_sent(claimed.id, NOW, "emailed")
        else:
            store.mark_failed(claimed.id, "SMTP 127.0.0.1:1: answered 550 5.1.1 no such user",
                              NOW)
    for name in (calm, STATE_ONLY):
        run = store.start_run(name, "sync", NOW - timedelta(minutes=2))
        store.finish_run(run, "ok", NOW - timedelta(minutes=2) + timedelta(seconds=4),
                         {"pulled": 3, "scored": 3, "written": 3}, [], {})
    store.close()


@pytest.fixture
def state(tmp_path):
    clients = tmp_path / "clients"
    clients.mkdir()
    for name in CONFIGURED:
        (clients / f"{name}.yaml").write_text(
            f"crm: {{kind: hubspot, base_url: 'http://127.0.0.1:9', token_env: T_X}}\n"
            f"rules: {RULES}\nowner_fallback: {{name: A B, email: a@b.co}}\n")
    url = f"sqlite:///{tmp_path / 'state.db'}"
    _fill(url)
    return {**os.environ, "CONNECTOR_CONFIG_DIR": str(clients), "CONNECTOR_STATE_URL": url,
            "COLUMNS": "80", "LINES": "25", "T_X": "tok"}


def _status(env: dict, *args: str) -> str:
    proc = subprocess.run([sys.executable, "-m", "connector.cli.__main__", "status", *args],
                          env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_status_at_80_columns_is_readable(state):
    out = _status(state)
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= 80, "\n".join(
        line for line in lines if len(line) > 80)
    for name in (*CONFIGURED, STATE_ONLY):
        assert name in lines, (name, out)  # each name whole, on a line of its own
    assert "actions: 3 held, 2 failed, 1 pending, 1 sent" in out
    flat = " ".join(out.split())  # a long line wraps at spaces
    assert f"`connector actions release --client {CONFIGURED[0]}`" in flat
    assert f"`connector actions retry --client {CONFIGURED[0]} --id N`" in flat
    assert ("it did: 120 pulled, 118 scored, 117 written, 1 unchanged, 1 write failures, "
            "4 turned warm, 1 actions sent, 2 actions failed, 2 skipped") in flat
    assert "events_fetched_for" not in out and "write_failed" not in out  # no raw keys
    assert "skipped records: 2" in out
    assert "contact 1018: no email address; the contact cannot be invited or unsubscribed" \
        in flat
    assert f"error: {ERROR}" in flat
    assert "last run: failed (sync, " in out and "took 2 min 0 s" in out
    assert "last run: ok (sync, " in out


def test_status_json_keeps_every_detail(state):
    out = _status(state, "--json")
    data = json.loads(out[out.index("{"):])
    busy = data["clients"][CONFIGURED[0]]
    assert busy["last_run"]["counts"] == COUNTS
    assert busy["last_run"]["errors"] == [ERROR]
    assert busy["actions"] == {"held": 3, "failed": 2, "pending": 1, "sent": 1}
    assert {r["contact_id"]: r["reason"] for r in busy["skipped"]} == SKIPPED
    assert set(data["clients"]) == {*CONFIGURED, STATE_ONLY}
