"""Every request a sandbox served: for call counting and tenant-isolation tests."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass


@dataclass(frozen=True)
class Entry:
    method: str
    path: str
    token: str | None
    account: str | None
    status: int


class Ledger:
    def __init__(self) -> None:
        self.entries: list[Entry] = []
        self.lock = threading.Lock()

    def record(self, entry: Entry) -> None:
        with self.lock:
            self.entries.append(entry)

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()

    def count(self, path_prefix: str = "", method: str | None = None,
              status: int | None = None) -> int:
        with self.lock:
            return sum(1 for e in self.entries if e.path.startswith(path_prefix)
                       and (method is None or e.method == method)
                       and (status is None or e.status == status))

    def by_path(self) -> Counter[str]:
        with self.lock:
            return Counter(f"{e.method} {e.path}" for e in self.entries)

    def tokens_for(self, account: str) -> set[str | None]:
        with self.lock:
            return {e.token for e in self.entries if e.account == account}
