"""Rows every CRM shares: rate limit, clock skew, and kept against found capabilities."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from connector.crm.detected import Detected, changes
from connector.doctor import FAIL, FALLBACK, OK, Row

# the incremental pulls overlap the bookmark by 300 s (``overlap_seconds``): a CRM clock
# this far from ours eats into it
MAX_SKEW_SECONDS = 60
# HubSpot: the ten-second limit in its headers (developers.hubspot.com/docs/guides/apps/
# api-usage/usage-details); ActiveCampaign: "5 requests per second per account", and
# "additional headers for the rate limit (ex. RateLimit-Limit: 5)" (developers.
# activecampaign.com/reference/rate-limits; which answers carry it is not said)
HUBSPOT_MAX = "x-hubspot-ratelimit-max"
HUBSPOT_INTERVAL = "x-hubspot-ratelimit-interval-milliseconds"
AC_LIMIT = "ratelimit-limit"
AC_PER_SECOND = 5.0


def kept_row(kept: Detected | None, found: Detected, client: str) -> Row:
    check = "capabilities kept in state"
    if kept is None:
        return Row(check, OK, "none kept yet", "the first sync detects and keeps them")
    diff = changes(kept, found)
    if not diff:
        return Row(check, OK, "the same as found now", "uses them")
    return Row(check, FALLBACK, "changed since kept: " + "; ".join(diff),
               "syncs use what was kept until the next full resync (an API that went away "
               "is noticed at its first 403)",
               f"connector resync --full --client {client}")


def limits_rows(crm: Any) -> list[Row]:
    """The rate-limit headers seen against our limiter, and the CRM's clock against ours,
    from the answers the checks before got."""
    layer = crm.layer
    seen = {name.lower(): value for name, value in layer.headers_seen.items()}
    return [_rate_row(crm.kind, seen, layer.limiter.limits.get("default")),
            _skew_row(seen.get("date"), layer.date_received_at)]


def _rate_row(kind: str, seen: dict[str, str], limit: Any) -> Row:
    check = "rate limit"
    ours = limit.requests / limit.per_seconds if limit else None
    mine = f"our limiter {ours:.2f}/s" if ours else "no limiter"
    if kind != "hubspot":
        return _ac_rate_row(seen.get(AC_LIMIT), ours, mine)
    try:
        theirs = int(seen[HUBSPOT_MAX]) / (int(seen[HUBSPOT_INTERVAL]) / 1000)
    except (KeyError, ValueError, ZeroDivisionError):
        return Row(check, FALLBACK, f"no X-HubSpot-RateLimit headers seen; {mine}",
                   "paces to the documented limit; a 429 waits out the window",
                   "nothing, unless 429s show in the sync report (then lower "
                   "crm.rate_limit.requests_per_second)")
    seen_text = (f"portal allows {seen[HUBSPOT_MAX]} per "
                 f"{int(seen[HUBSPOT_INTERVAL]) // 1000} s ({theirs:.2f}/s); {mine}")
    if ours is not None and ours > theirs:
        return Row(check, FAIL, seen_text, "earns 429s: each one stops the client for a "
                   "whole window", f"set crm.rate_limit.requests_per_second to "
                   f"{theirs * 0.95:.1f} or less (or remove it)")
    return Row(check, OK, seen_text, "stays under it")


def _ac_rate_row(header: str | None, ours: float | None, mine: str) -> Row:
    """ActiveCampaign's limit: the account's RateLimit-Limit header (requests per second)
    where it sends one, else the documented 5 per second."""
    check = "rate limit"
    try:
        theirs = float(header) if header else AC_PER_SECOND
    except ValueError:
        theirs, header = AC_PER_SECOND, None
    seen_text = (f"RateLimit-Limit: {header} (requests per second); {mine}" if header else
                 f"no RateLimit-Limit header seen (documented: 5 per second); {mine}")
    if ours is not None and ours > theirs:
        return Row(check, FAIL, seen_text, f"goes faster than the account's {theirs:g} "
                   "requests per second: earns 429s and waits out each Retry-After",
                   f"remove crm.rate_limit from the client file (or set it to {theirs:g} "
                   "or less)")
    return Row(check, OK, seen_text, f"stays under the account's {theirs:g} requests per "
               "second; a 429 waits out its Retry-After")


def _skew_row(date: str | None, received_at: datetime | None) -> Row:
    """The CRM's clock (its Date header) against ours when that answer came. The header
    is in whole seconds (RFC 9110 section 5.6.7, HTTP-date), so the skew shown is exact
    to a second."""
    check = "clock skew (CRM Date header)"
    if not date:
        return Row(check, FALLBACK, "no Date header seen", "cannot compare clocks",
                   "nothing; keep this machine on NTP")
    try:
        theirs = parsedate_to_datetime(date)
    except (TypeError, ValueError):
        return Row(check, FALLBACK, f"unreadable Date header {date!r}",
                   "cannot compare clocks", "nothing; keep this machine on NTP")
    skew = ((received_at or datetime.now(UTC)) - theirs.astimezone(UTC)).total_seconds()
    seen = f"ours {'ahead of' if skew >= 0 else 'behind'} the CRM by {abs(skew):.0f} s"
    if abs(skew) <= MAX_SKEW_SECONDS:
        return Row(check, OK, seen, "bookmarks and the 300 s overlap hold")
    return Row(check, FAIL, seen, "the incremental pull's 300 s overlap is eaten by the "
               "skew: contacts changed near a bookmark can be missed",
               "set this machine's clock (NTP: timedatectl set-ntp true)")
