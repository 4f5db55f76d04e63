"""The one place CRM calls are rate limited and retried.

``HttpLayer.send`` wraps a zero-argument ``do_send`` (a requests call, a urllib3 call from
the HubSpot SDK): take a token from the endpoint class's limiter, send, classify the
answer with the policy table, and let tenacity retry what is retryable: a 429 after its
Retry-After (or the limiter's window when the CRM names none, as HubSpot does), 5xx,
timeouts, resets and malformed bodies with exponential backoff and jitter. Anything else
is raised at once as the error tree. No caller writes a retry loop.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt
from tenacity.wait import wait_exponential_jitter

from connector import stopping
from connector.clock import Clock, SystemClock
from connector.errors import CRMError, NetworkError, RateLimited, RetryLater
from connector.http.policy import RawResponse, error_for, network_error
from connector.http.ratelimit import RateLimiter

log = logging.getLogger("connector.http")


@dataclass
class HttpStats:
    """What the layer did: calls and retries per endpoint class, seconds waited."""

    calls: Counter[str] = field(default_factory=Counter)
    retried: Counter[str] = field(default_factory=Counter)
    rate_limited: Counter[str] = field(default_factory=Counter)  # 429s per endpoint class
    waited: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count(self, counter: Counter[str], key: str) -> None:
        with self.lock:
            counter[key] += 1

    def add_wait(self, seconds: float) -> None:
        with self.lock:
            self.waited += seconds


class HttpLayer:
    """Rate limiting, retries and error mapping for one client of one CRM."""

    def __init__(self, crm: str, client: str, limiter: RateLimiter, *,
                 clock: Clock | None = None, max_attempts: int = 6, max_wait: float = 120.0,
                 timeout: float = 30.0, secrets: Iterable[str] = ()) -> None:
        self.crm = crm
        self.client = client
        self.limiter = limiter
        # waits out back-off; its wall time is what a Retry-After date counts from
        self.clock: Clock = clock or SystemClock()
        self.max_attempts = max_attempts
        self.max_wait = max_wait
        self.timeout = timeout
        self.secrets = tuple(s for s in secrets if s)
        self.stats = HttpStats()
        # the headers of the answers so far, newest value of each (``connector doctor``
        # reads the rate-limit headers and the Date)
        self.headers_seen: dict[str, str] = {}
        # when (our wall clock) the newest Date header came: the CRM's clock is compared
        # with ours at that moment, not whenever someone reads it later
        self.date_received_at: datetime | None = None
        self._backoff = wait_exponential_jitter(multiplier=0.5, max=max_wait, jitter=1.0)

    def send(self, endpoint_class: str, method: str, url: str,
             do_send: Callable[[], RawResponse], *, expect_json: bool = True) -> RawResponse:
        """Send through the limiter with retries; return a success (or a 207) response."""
        endpoint = f"{method} {_path(url)}"
        retrying = Retrying(
            retry=retry_if_exception_type(RetryLater),
            stop=stop_after_attempt(self.max_attempts),
            wait=self._wait,
            sleep=self._sleep,
            before_sleep=lambda state: self._note_retry(endpoint_class, endpoint, state),
            reraise=True,
        )
        for attempt in retrying:
            with attempt:
                return self._once(endpoint_class, endpoint, do_send, expect_json)
        raise AssertionError("unreachable")  # pragma: no cover

    def _once(self, endpoint_class: str, endpoint: str, do_send: Callable[[], RawResponse],
              expect_json: bool) -> RawResponse:
        self.stats.add_wait(self.limiter.acquire(endpoint_class))
        # the limiter's clock: an answered request's round trip tells it when the CRM
        # can have counted the request; one that failed tells nothing (None)
        sent_at: float | None = self.limiter.clock.monotonic()
        self.stats.count(self.stats.calls, endpoint_class)
        try:
            response = do_send()
        except CRMError:
            sent_at = None
            raise
        except Exception as exc:  # timeouts, resets, refused connections
            sent_at = None
            raise network_error(exc, crm=self.crm, client=self.client, endpoint=endpoint,
                                secrets=self.secrets) from None
        finally:  # the answer is back: limiters that count requests in flight free a place
            self.limiter.release(endpoint_class, sent_at)
        self.headers_seen.update(response.headers)
        if "date" in response.headers:
            self.date_received_at = self.clock.now()
        error = error_for(response, crm=self.crm, client=self.client, endpoint=endpoint,
                          secrets=self.secrets, now=self.clock.now())
        if error is not None:
            if isinstance(error, RateLimited):
                self.stats.count(self.stats.rate_limited, endpoint_class)
                pause = error.retry_after or self.limiter.window(endpoint_class)
                self.limiter.penalise(endpoint_class, pause)
            raise error
        if expect_json and response.body:
            try:
                json.loads(response.body)
            except ValueError:
                raise NetworkError("the response body is not valid JSON (truncated?)",
                                   crm=self.crm, client=self.client,
                                   endpoint=endpoint) from None
        return response

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, RateLimited):
            # the limiter was penalised; its acquire() does the waiting
            return 0.0
        return min(self._backoff(state), self.max_wait)

    def _sleep(self, seconds: float) -> None:
        stopping.check()  # a sync asked to stop does not wait out a retry's back-off
        if seconds > 0:
            self.stats.add_wait(seconds)
            self.clock.sleep(seconds)

    def _note_retry(self, endpoint_class: str, endpoint: str, state: RetryCallState) -> None:
        self.stats.count(self.stats.retried, endpoint)
        exc = state.outcome.exception() if state.outcome else None
        log.info("retrying %s after %s (attempt %d)", endpoint,
                 getattr(exc, "detail", exc), state.attempt_number)


def _path(url: str) -> str:
    """The path of ``url`` without host or query (query strings may hold emails)."""
    rest = url.split("://", 1)[-1]
    path = "/" + rest.split("/", 1)[1] if "/" in rest else "/"
    return path.split("?", 1)[0]
