"""The debounced targeted sync: a burst of webhooks costs one sync of all its contacts;
a steady stream is synced at least every ``max_wait_seconds``; marks survive a restart;
a client held by another run is tried again, its marks kept."""

from __future__ import annotations

import threading
import time
from datetime import datetime

from connector.errors import LeaseHeld
from connector.sandbox.clock import ClockParts, FakeClock
from connector.store import open_store
from connector.web.dirty import Debouncer

from .helpers import wait_for


class Recorder:
    def __init__(self, store, busy: int = 0) -> None:
        self.store = store
        self.busy = busy
        self.runs: list[tuple[float, list[str]]] = []
        self.lock = threading.Lock()

    def __call__(self, client: str, dirty: dict[str, datetime]) -> None:
        with self.lock:
            if self.busy:
                self.busy -= 1
                raise LeaseHeld(client, "the scheduled poll", "soon")
            self.runs.append((time.monotonic(), sorted(dirty)))
        self.store.clear_dirty(client, list(dirty), datetime.now().astimezone())


class DebouncerTime:
    """The debouncer's clock: fake time the test moves, and a count of the debouncer
    loop's looks at it, so the test can wait until the loop has seen the time it set
    (on a busy machine a real 50 ms pause between webhooks can last longer than the quiet
    time, and 40 of them far longer than 2 s: the syncs would then count the machine's
    load, not the debouncing)."""

    def __init__(self) -> None:
        self.clock = FakeClock()
        self.looks = 0
        self.looked = threading.Condition()

    def __call__(self) -> float:
        if threading.current_thread().name == "debouncer":
            with self.looked:
                self.looks += 1
                self.looked.notify_all()
        return self.clock.monotonic()

    def advance(self, seconds: float) -> None:
        """``seconds`` pass; returns once the loop has made its decisions at the new time."""
        self.clock.advance(seconds)
        with self.looked:
            target = self.looks + 2  # the next look reads the new time; the one after
            # it comes once that pass has started the syncs it found due
            assert self.looked.wait_for(lambda: self.looks >= target, 30)


def test_a_burst_is_one_sync_and_a_stream_is_synced_every_max_wait(tmp_path):
    store = open_store(f"sqlite:///{tmp_path / 'state.db'}")
    runner = Recorder(store)
    now = DebouncerTime()
    debouncer = Debouncer(store, runner, lambda client: (0.3, 0.8), tick=0.01,
                          clock=ClockParts(monotonic=now))
    debouncer.start()
    try:
        for cid in ("1", "2", "3", "2"):
            debouncer.mark("acme", [cid], "test")
            now.advance(0.05)
        now.advance(0.3)  # quiet: the burst is synced
        assert wait_for(lambda: len(runner.runs) == 1, 30)
        now.advance(0.5)
        assert wait_for(debouncer.idle, 30)
        assert [ids for _, ids in runner.runs] == [["1", "2", "3"]]
        for i in range(40):  # a webhook every 50 ms for 2 s: never 0.3 s of quiet
            debouncer.mark("acme", [str(100 + i)], "test")
            now.advance(0.05)
        now.advance(0.3)
        assert wait_for(debouncer.idle, 30)
        stream = runner.runs[1:]
        assert 2 <= len(stream) <= 5, stream  # about every 0.8 s, not 40 syncs
        synced = {cid for _, ids in stream for cid in ids}
        assert synced == {str(100 + i) for i in range(40)}
    finally:
        debouncer.stop()
        store.close()


def test_marks_survive_a_restart_and_a_busy_client_is_tried_again(tmp_path):
    url = f"sqlite:///{tmp_path / 'state.db'}"
    store = open_store(url)
    store.mark_dirty("acme", ["7", "8"], "test", datetime.now().astimezone())
    runner = Recorder(store, busy=1)  # the first try finds the scheduled poll holding it
    debouncer = Debouncer(store, runner, lambda client: (5.0, 60.0), tick=0.01,
                          busy_retry=0.1)
    debouncer.start()  # what was marked before the start is synced at once
    try:
        assert wait_for(lambda: len(runner.runs) == 1, 10)
        assert runner.runs[0][1] == ["7", "8"]
        # the recorder clears the marks right after it records the run
        assert wait_for(lambda: store.dirty_contacts("acme") == {}, 5)
    finally:
        debouncer.stop()
        store.close()
