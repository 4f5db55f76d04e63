"""Re-deploying with a lost state database never invites a lead twice.

The state database keys invites by warm-up; the CRM keeps a marker (``connector_invited_at``)
that survives the database. Against both sandboxes and a real SMTP server (aiosmtpd).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from connector.actions.marker import ALREADY
from connector.models import Event, EventType
from connector.sandbox.activecampaign import ACSandbox
from connector.sandbox.clock import FakeClock
from connector.sandbox.faults import FaultPlan
from connector.sandbox.hubspot import HubSpotSandbox
from connector.sandbox.memory_crm import MemoryCRM
from connector.sandbox.server import Server
from connector.sandbox.smtp_sink import SmtpSink
from connector.store import open_store
from connector.sync import run_sync
from connector.sync.runtime import make_job

from ..e2e.helpers import client_config, settings, story_contact
from .world import START, build


def _kinds(sink: SmtpSink) -> list[str]:
    return [m["X-Connector-Key"] for m in sink.messages]


def _delete_state(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def _marker(world, contact_id: str) -> str | None:
    if world.kind == "hubspot":
        return world.account.contacts[contact_id]["props"].get("connector_invited_at")
    return world.account.value_of(contact_id, "CONNECTOR_INVITED_AT")


def _marker_calls(world, ledger) -> tuple[int, int, int]:
    """(marker reads, single marker writes, batch writes: scores' and markers' alike)."""
    if world.kind == "hubspot":
        return (ledger.count("/crm/v3/objects/contacts/", "GET"),
                ledger.count("/crm/v3/objects/contacts/", "PATCH"),
                ledger.count("/crm/v3/objects/contacts/batch/update", "POST"))
    reads = sum(n for path, n in ledger.by_path().items()
                if path.startswith("GET /api/3/contacts/") and path.endswith("/fieldValues"))
    return (reads, ledger.count("/api/3/fieldValues", "POST"),
            ledger.count("/api/3/import/bulk_import", "POST"))


@pytest.mark.parametrize("kind", ["hubspot", "activecampaign"])
def test_deleting_the_state_database_re_sends_nothing(kind, tmp_path):
    app = HubSpotSandbox(FaultPlan()) if kind == "hubspot" else ACSandbox(FaultPlan())
    db = tmp_path / "state.db"
    url = f"sqlite:///{db}"
    with Server(app) as server, SmtpSink() as sink:
        store = open_store(url)
        world = build(kind, server, app, store, url, sink.port, seed=11, size=60)
        first = run_sync(world.job)
        invites = [k for k in _kinds(sink) if ":invite:" in k]
        notes = [k for k in _kinds(sink) if ":notify:" in k]
        assert first.status == "ok", first.errors
        assert len(invites) >= 5 and len(notes) == len(invites), _kinds(sink)
        invited = [k.split(":")[2] for k in invites]
        # the markers cost no read (the pull's value serves) and go out in one batch call
        # (HubSpot's batch update, ActiveCampaign's bulk import) next to the scores' ones
        reads, singles, batches = _marker_calls(world, app.ledger)
        scores = -(-first.counts["written"] // (100 if kind == "hubspot" else 250))
        assert (reads, singles, batches) == (0, 0, scores + 1)

        store.close()
        _delete_state(db)  # the re-deploy: a fresh, empty state database
        assert not db.exists()
        world.clock.advance(minutes=15)
        fresh = open_store(url)
        job = make_job(world.job.actions.client, settings(url), fresh, crm=world.crm,
                       clock=world.clock, env={"TEST_TOKEN": world.token})
        before = len(sink.messages)
        again = run_sync(job)
        assert again.status == "ok", again.errors
        assert again.counts["became_warm"] >= len(invites)  # the fresh state sees them warm
        assert again.counts["already_invited"] == len(invites)
        assert f"{len(invites)} warm leads already invited per CRM marker" in again.summary()
        assert len(sink.messages) == before, _kinds(sink)[before:]  # 0 invites, 0 notes
        assert fresh.outbox(world.name) == []  # nothing even planned
        assert all(_marker(world, cid) for cid in invited)  # what the CRM remembered
        fresh.close()


@pytest.fixture
def memory_world(tmp_path):
    clock = FakeClock(START)
    crm = MemoryCRM(clock=clock)
    crm.load([story_contact("7", "maja@lund.dk")])
    url = f"sqlite:///{tmp_path / 'state.db'}"
    store = open_store(url)
    with SmtpSink() as sink:
        client = client_config("memo", "hubspot", "http://127.0.0.1:1", sink.port)
        job = make_job(client, settings(url), store, crm=crm, clock=clock,
                       env={"TEST_TOKEN": "t"})
        yield crm, store, job, clock, sink
    store.close()


def _warm_up(crm: MemoryCRM, clock: FakeClock, contact_id: str) -> None:
    """Contact page, pricing page, a guide and two service pages: warm (default model)."""
    now = clock.now()
    for i, url in enumerate(("/contact", "/pricing", "/services/seo", "/services/ads")):
        crm.add_event(Event(f"{contact_id}-{now:%j%H%M}-{i}", contact_id, EventType.PAGE_VIEW,
                            now - timedelta(minutes=i), url=f"https://lund.dk{url}"))
    crm.add_event(Event(f"{contact_id}-{now:%j%H%M}-g", contact_id, EventType.DOWNLOAD, now,
                        name="Pricing guide"))


def test_a_lead_that_cools_and_warms_again_is_invited_again_despite_the_marker(memory_world):
    crm, store, job, clock, sink = memory_world
    _warm_up(crm, clock, "7")
    run_sync(job)
    assert [k for k in _kinds(sink) if ":invite:" in k] == ["memo:invite:7:1"]
    assert crm.account.invited_at["7"] is not None
    clock.advance(days=60)  # quiet: decay takes the behaviour points away
    cooled = run_sync(job)
    assert cooled.counts["left_warm"] == 1
    clock.advance(days=1)
    _warm_up(crm, clock, "7")
    run_sync(job)
    assert [k for k in _kinds(sink) if ":invite:" in k] == ["memo:invite:7:1",
                                                            "memo:invite:7:2"]


def test_delivery_skips_an_entry_the_crm_marker_shows_was_acted_on_later(memory_world):
    crm, store, job, clock, sink = memory_world
    _warm_up(crm, clock, "7")
    sink.stop()  # the SMTP server is down: the invite stays pending, retried later
    run_sync(job)
    [pending] = [e for e in store.outbox("memo") if e.kind == "invite"]
    assert pending.status == "pending"
    # meanwhile another deployment (a fresh state) planned and sent this warm-up's invite
    crm.account.invited_at["7"] = clock.now() + timedelta(minutes=1)
    clock.advance(hours=2)
    sink.start()
    run_sync(job)
    assert sink.messages == []
    entries = {e.kind: e for e in store.outbox("memo")}
    assert entries["invite"].status == "sent" and ALREADY in (entries["invite"].detail or "")
    assert entries["notify"].status == "sent" and ALREADY in (entries["notify"].detail or "")
