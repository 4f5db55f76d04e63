"""Who may post a webhook: HubSpot's v3 signature and ActiveCampaign's secret path.

HubSpot v3 (https://developers.hubspot.com/docs/apps/developer-platform/build-apps/
authentication/request-validation, "Validate the v3 request signature"; also the changelog
https://developers.hubspot.com/changelog/introducing-version-3-of-webhook-signatures):
reject a request whose ``X-HubSpot-Request-Timestamp`` (epoch milliseconds) is older than
5 minutes; the signature ``X-HubSpot-Signature-v3`` is the base64 of the HMAC SHA-256,
keyed with the app's client secret, of the UTF-8 string requestMethod + requestUri +
requestBody + timestamp; requestUri is the full URL HubSpot called, with URL-encoded
characters decoded.

ActiveCampaign signs nothing (https://developers.activecampaign.com/page/webhooks: form
data, "never retried"; ../shared/docs/crm-apis.md): the URL's last segment is a per-client
secret, compared in constant time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import unquote

from connector.errors import ConnectorError

MAX_AGE_MS = 5 * 60 * 1000


class Rejected(ConnectorError):
    """The request is not from the CRM (or too old); the message says why, without
    secrets."""


def hubspot_v3(secret: str, method: str, uri: str, body: bytes, timestamp: str) -> str:
    """The v3 signature HubSpot sends for this request."""
    source = method.upper() + unquote(uri) + body.decode("utf-8") + timestamp
    digest = hmac.new(secret.encode("utf-8"), source.encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def check_hubspot_v3(secret: str, method: str, uri: str, body: bytes,
                     timestamp: str | None, signature: str | None, now_ms: int) -> None:
    """Raise Rejected unless the request carries a fresh, valid v3 signature."""
    if not timestamp or not signature:
        raise Rejected("missing X-HubSpot-Signature-v3 or X-HubSpot-Request-Timestamp")
    try:
        sent = int(timestamp)
    except ValueError:
        raise Rejected("X-HubSpot-Request-Timestamp is not epoch milliseconds") from None
    if now_ms - sent > MAX_AGE_MS:
        raise Rejected("X-HubSpot-Request-Timestamp is older than 5 minutes")
    if sent - now_ms > MAX_AGE_MS:
        raise Rejected("X-HubSpot-Request-Timestamp is in the future")
    expected = hubspot_v3(secret, method, uri, body, timestamp)
    if not hmac.compare_digest(expected.encode(), signature.strip().encode()):
        raise Rejected("X-HubSpot-Signature-v3 does not match")


def check_path_secret(secret: str | None, given: str) -> None:
    """Raise Rejected unless ``given`` is the client's path secret."""
    if not secret or not hmac.compare_digest(secret.encode(), given.encode()):
        raise Rejected("unknown webhook path")
