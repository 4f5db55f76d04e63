"""What every adapter that speaks to its CRM through ``connector.http`` shows of it: the
layer's counts (``http_stats``, ``retried``) and a repr naming the client and the URL (never
the token)."""

from __future__ import annotations

from typing import Any

from connector.http import HttpLayer


class OverHttp:
    """A mixin for an adapter with a ``layer`` (its HttpLayer), ``client_name`` and
    ``base_url``."""

    layer: HttpLayer
    client_name: str
    base_url: str

    @property
    def http_stats(self) -> Any:
        return self.layer.stats

    def retried(self) -> dict[str, int]:
        return dict(self.layer.stats.retried)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(client={self.client_name!r}, base_url={self.base_url!r})"
