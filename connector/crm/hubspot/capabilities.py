"""What a HubSpot portal can do: the token's scopes, which engagement APIs answer, and the
adapter's choice of them (``connector/crm/detected.py``; shown by ``connector doctor``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from connector.crm.detected import Detected
from connector.crm.hubspot.session import HubSpotSession
from connector.errors import AuthError, NotFoundError, SkipRecord

# plans whose portals have no email events API (scope ``content``); the events API is
# Enterprise only (see connector/crm/hubspot/property_engagement.py)
NO_EMAIL_EVENTS_PLANS = ("free", "starter")
# what a declared ``crm.plan`` lets the adapter use; without one it uses what it detects
PLAN_APIS: dict[str, tuple[str, ...]] = {
    "free": (), "starter": (), "professional": ("email_events_api",),
    "enterprise": ("events_api", "email_events_api")}
API_WORDS = {
    "events_api": ("the events API (every page view and form)",
                   "page views and forms come from the first and last ones on the contact"),
    "email_events_api": ("the email events API (every open and click)",
                         "opens and clicks come from the contact's counters, one per email")}
TOKEN_INFO = "/oauth/v2/private-apps/get/access-token-info"


class Capabilities(HubSpotSession):
    """``detect_capabilities``, ``use_capabilities`` and the reads ``connector doctor``
    makes."""

    def detect_capabilities(self) -> Detected:
        """The token's scopes (``POST /oauth/v2/private-apps/get/access-token-info``,
        documented at the end of developers.hubspot.com/docs/api/private-apps; None when it
        will not say), and whether the events API, the email events API and the
        subscription types answer (one read of each; a 403 or 404 is "no", a 401 stops
        with "check the token")."""
        events = self._api("events", lambda: self.sdk.events.events_api)
        definitions = self._api(
            "definitions", lambda: self.sdk.communication_preferences.definition_api)
        found: dict[str, Any] = {"scopes": self.token_scopes()}
        found["events_api"] = self._answers(
            lambda: events.get_page(object_type="contact", limit=1))
        found["email_events_api"] = self._answers(
            lambda: self._get_json("/email/public/v1/events", {"limit": 1}))
        types: list[Any] = []
        found["subscription_types"] = (
            len([d for d in types if d.is_active and not d.is_internal])
            if self._answers(lambda: types.extend(
                definitions.get_page().subscription_definitions or [])) else None)
        return Detected(self.kind, found, self.clock.now())

    def token_scopes(self) -> list[str] | None:
        """The scopes of a private app token, or None when HubSpot will not say (an OAuth
        token, or the call refused)."""
        try:
            body = self._post_json(TOKEN_INFO, {"tokenKey": self._token})
        except (AuthError, NotFoundError, SkipRecord) as exc:
            if exc.status == 401:  # not a private app token, or a bad one: a bad token is
                self._answers(self._probe_token)  # 401 everywhere, raised here
            return None
        scopes = body.get("scopes")
        return sorted(str(s) for s in scopes) if isinstance(scopes, list) else None

    def _probe_token(self) -> None:
        api = self._api("contacts", lambda: self.sdk.crm.contacts.basic_api)
        api.get_page(limit=1, archived=False)

    def _answers(self, call: Callable[[], Any]) -> bool | None:
        """Whether the portal answers ``call``: a 403 (scope or plan) or 404 is no, another
        4xx unknown (None: the API is tried, and a 403 then turns it off); a 401 (the token
        itself) is raised."""
        try:
            call()
        except AuthError as exc:
            if exc.status == 401:
                raise
            return False
        except NotFoundError:
            return False
        except SkipRecord:
            return None
        return True

    def property_type(self, name: str) -> str | None:
        """The type of the contact property ``name`` (``GET /crm/v3/properties/contacts/
        {name}``); None when the portal has no such property."""
        api = self._api("properties", lambda: self.sdk.crm.properties.core_api)
        try:
            return str(api.get_by_name("contacts", name).type)
        except NotFoundError:
            return None

    def contact_property_names(self) -> set[str]:
        """Every contact property's name (``GET /crm/v3/properties/contacts``, one answer
        with no paging)."""
        api = self._api("properties", lambda: self.sdk.crm.properties.core_api)
        return {p.name for p in api.get_all("contacts", archived=False).results}

    def owners_page(self) -> int:
        """How many owners the first page of ``GET /crm/v3/owners`` lists."""
        api = self._api("owners", lambda: self.sdk.crm.owners.owners_api)
        return len(api.get_page(limit=100).results or [])

    def use_capabilities(self, detected: Detected) -> list[str]:
        """Use the APIs the portal answered; a declared ``crm.plan`` narrows them (an
        override) and each disagreement with the portal is said, with the fix."""
        allowed = PLAN_APIS.get(self.plan) if self.plan else None
        notes = []
        use = {}
        for api, (label, fallback) in API_WORDS.items():
            value = detected.found.get(api)  # None: unknown, tried until a 403
            declared = allowed is None or api in allowed
            use[api] = value is not False and declared
            if value is True and not declared:
                notes.append(f"crm.plan {self.plan} leaves {label} unused, though this "
                             f"portal answers it: {fallback}; fix: remove crm.plan from the "
                             "client file (what the portal answers is detected)")
            elif allowed is not None and declared and value is False:
                notes.append(f"crm.plan {self.plan} declares {label}, but this portal "
                             f"refuses it: {fallback}; fix: remove crm.plan, or give the "
                             "private app the plan and scope it needs")
        self._events_api_ok = use["events_api"]
        self._email_api_ok = use["email_events_api"]
        return notes
