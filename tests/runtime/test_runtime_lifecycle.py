"""One owner for a run: ``client_runtime`` closes the adapter's sessions after every run."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from connector.sandbox.clock import FakeClock
from connector.sandbox.memory_crm import MemoryCRM
from connector.store import open_store
from connector.sync import run_sync, runtime
from connector.sync.runtime import client_runtime

from ..e2e.helpers import client_config, settings, story_contact

START = datetime(2026, 11, 2, 9, tzinfo=UTC)


class _CountingCRM(MemoryCRM):
    def __init__(self, *args, fail: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.closed = 0
        self.fail = fail

    def iter_contacts(self, since, until):
        if self.fail:
            raise RuntimeError("the CRM fell over")
        yield from super().iter_contacts(since, until)

    def close(self) -> None:
        self.closed += 1


@pytest.fixture
def parts(tmp_path):
    url = f"sqlite:///{tmp_path / 'state.db'}"
    store = open_store(url)
    yield client_config("life", "hubspot", "http://unused", 2525), settings(url), store
    store.close()


def test_the_adapter_is_closed_after_the_run(parts, monkeypatch):
    client, cfg, store = parts
    clock = FakeClock(START)
    crm = _CountingCRM(clock=clock)
    crm.load([story_contact("a", "a@lund.dk")])
    monkeypatch.setattr(runtime, "make_crm", lambda *a, **k: crm)  # the runtime builds it
    with client_runtime(client, cfg, store, env={"TEST_TOKEN": "t"}, clock=clock) as job:
        assert job.crm is crm and crm.closed == 0  # open while the sync runs
        assert run_sync(job).status == "ok"
    assert crm.closed == 1


def test_the_adapter_is_closed_when_the_sync_raises(parts, monkeypatch):
    client, cfg, store = parts
    clock = FakeClock(START)
    crm = _CountingCRM(clock=clock, fail=True)
    monkeypatch.setattr(runtime, "make_crm", lambda *a, **k: crm)
    with pytest.raises(RuntimeError, match="fell over"), \
            client_runtime(client, cfg, store, env={"TEST_TOKEN": "t"}, clock=clock) as job:
        run_sync(job)
    assert crm.closed == 1


def test_an_adapter_passed_in_is_closed_too(parts):
    client, cfg, store = parts
    crm = _CountingCRM(clock=FakeClock(START))
    with client_runtime(client, cfg, store, env={"TEST_TOKEN": "t"}, crm=crm):
        pass
    assert crm.closed == 1
