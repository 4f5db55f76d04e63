"""The shared HTTP layer: rate limiting, tenacity retries and error mapping per CRM client."""

from connector.http.policy import STATUS_TABLE, RawResponse
from connector.http.ratelimit import Limit, RateLimiter
from connector.http.transport import HttpLayer, HttpStats

__all__ = ["STATUS_TABLE", "HttpLayer", "HttpStats", "Limit", "RateLimiter", "RawResponse"]
