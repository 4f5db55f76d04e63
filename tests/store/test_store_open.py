"""Processes that open the same new state database at once (``connector run`` and a manual
``sync``, workers starting together) all get it: the tables are created once, the others
wait for that instead of failing with "table alembic_version already exists"."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

from connector.store import open_store

OPENER = """
import os, sys, time
from connector.store import open_store
while not os.path.exists(sys.argv[2]):  # all start together
    time.sleep(0.005)
open_store(sys.argv[1]).close()
"""


def test_processes_opening_a_new_database_at_once_all_get_it(store_url, tmp_path):
    go = tmp_path / "go"
    procs = [subprocess.Popen([sys.executable, "-c", OPENER, store_url, str(go)],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for _ in range(4)]
    time.sleep(3)  # give the interpreters time to import; they wait for the file
    go.touch()
    outputs = [(p.wait(120), p.communicate()[0]) for p in procs]
    assert all(code == 0 for code, _ in outputs), outputs
    store = open_store(store_url)
    assert store.contact_count("acme") == 0  # the tables are there, once
    store.close()


def test_threads_opening_a_new_database_at_once_all_get_it(store_url):
    barrier = threading.Barrier(6)
    errors: list[Exception] = []

    def open_it() -> None:
        barrier.wait()
        try:
            open_store(store_url).close()
        except Exception as exc:  # what a second opener got
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
