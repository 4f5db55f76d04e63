"""A small JSON client over ``requests.Session`` that sends through the HttpLayer."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import requests

from connector.http.policy import RawResponse
from connector.http.transport import HttpLayer

Classify = Callable[[str, str], str]


class JsonClient:
    """``request()`` returns ``(status, headers, parsed JSON or None)``; errors are raised
    by the layer as the connector's error tree."""

    def __init__(self, base_url: str, layer: HttpLayer, *, headers: Mapping[str, str],
                 classify: Classify, session: requests.Session | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.layer = layer
        self.classify = classify
        self.session = session or requests.Session()
        self.session.headers.update({"Accept": "application/json", **headers})

    def request(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
                json_body: Any = None) -> tuple[int, Mapping[str, str], Any]:
        url = path if path.startswith("http") else f"{self.base_url}/{path.lstrip('/')}"

        def do_send() -> RawResponse:
            response = self.session.request(method, url, params=params, json=json_body,
                                            timeout=self.layer.timeout)
            headers = {k.lower(): v for k, v in response.headers.items()}
            return RawResponse(response.status_code, headers, response.content)

        raw = self.layer.send(self.classify(method, path), method, url, do_send)
        return raw.status, raw.headers, json.loads(raw.body) if raw.body else None

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params=params or None)[2]

    def post(self, path: str, body: Any) -> Any:
        return self.request("POST", path, json_body=body)[2]

    def close(self) -> None:
        self.session.close()
