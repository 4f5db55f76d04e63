"""Route the HubSpot SDK's HTTP through the HttpLayer.

The SDK's generated REST client calls ``pool_manager.request(...)``. We hand it a
stand-in whose ``request`` sends with urllib3 retries switched off (tenacity in the layer
retries instead), so every SDK call is rate limited, retried and mapped to the error tree
before the SDK sees the answer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import urllib3

from connector.http.policy import RawResponse
from connector.http.transport import HttpLayer

Classify = Callable[[str, str], str]


class GuardedPoolManager:
    """A ``urllib3.PoolManager`` look-alike that sends through an :class:`HttpLayer`."""

    def __init__(self, layer: HttpLayer, classify: Classify,
                 pool: urllib3.PoolManager | None = None) -> None:
        self.layer = layer
        self.classify = classify
        self.pool = pool or urllib3.PoolManager(num_pools=4, maxsize=8, retries=False)

    def request(self, method: str, url: str, **kwargs: Any) -> urllib3.BaseHTTPResponse:
        kwargs["retries"] = False
        kwargs["preload_content"] = True
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = urllib3.Timeout(total=self.layer.timeout)
        holder: dict[str, urllib3.BaseHTTPResponse] = {}

        def do_send() -> RawResponse:
            response = self.pool.request(method, url, **kwargs)
            holder["response"] = response
            headers = {k.lower(): v for k, v in response.headers.items()}
            return RawResponse(response.status, headers, response.data or b"")

        self.layer.send(self.classify(method, url), method, url, do_send)
        return holder["response"]

    def clear(self) -> None:
        self.pool.clear()
