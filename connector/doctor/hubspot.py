"""The HubSpot rows of ``connector doctor`` (about ten read-only calls)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from connector.crm.base import MARKER_NAME
from connector.crm.detected import Detected
from connector.doctor import FAIL, FALLBACK, OK, Row
from connector.errors import AuthError, CRMError

if TYPE_CHECKING:
    from connector.config import ClientConfig
    from connector.crm.hubspot import HubSpotCRM

# the scopes connector's calls need, any one of each group (the "security" block of each
# operation in github.com/HubSpot/HubSpot-public-api-spec-collection, PublicApiSpecs/CRM/
# Contacts, Tasks, Crm Owners, Properties and Communication Preferences/Subscriptions, v3)
CONTACTS_READ = ("crm.objects.contacts.read",)
CONTACTS_WRITE = ("crm.objects.contacts.write",)
SCHEMAS_WRITE = ("crm.schemas.contacts.write",)
OWNERS = ("crm.objects.owners.read", "automation")
PREFS_READ = ("communication_preferences.read", "communication_preferences.read_write")
PREFS_WRITE = ("communication_preferences.write", "communication_preferences.read_write")
APP_FIX = ("in HubSpot, open the private app (Development > Legacy apps, or Settings > "
           "Integrations > Private Apps), tick the scope, commit, and put the new token in "
           "the variable crm.token_env names")


def needed_scopes(client: ClientConfig) -> list[tuple[tuple[str, ...], str]]:
    """(any of these scopes, what connector does without them) for this client."""
    needs = [(CONTACTS_READ, "nothing can be read: every sync fails (403)"),
             (CONTACTS_WRITE, "no score or warm-up marker is written, no task created "
                              "(403, the run fails)"),
             (OWNERS, "the run fails (403) at the first warm lead that has an owner")]
    if client.unsubscribe.enabled:
        needs += [(PREFS_READ, "unsubscribes fail (403): no subscription type is readable"),
                  (PREFS_WRITE, "unsubscribes fail (403)")]
    return needs


def hubspot_rows(crm: HubSpotCRM, client: ClientConfig) -> tuple[Detected, list[Row]]:
    try:
        detected = crm.detect_capabilities()
    except AuthError as exc:  # a 401: the token itself; nothing else can answer
        return Detected(crm.kind, {}, crm.clock.now()), [Row(
            "token and scopes", FAIL, f"token refused ({exc.status}: {exc.detail})",
            "every sync fails", "copy the private app's access token again into the "
            "variable crm.token_env names (a rotated or deleted app's token stops working)")]
    found = detected.found
    scopes = found.get("scopes")
    rows = [_scopes_row(scopes, client),
            _property_row(crm, "score property", client.score_property.name, "number",
                          scopes),
            _property_row(crm, "warm-up marker property", MARKER_NAME, "datetime", scopes),
            _fields_row(crm, client), _owners_row(crm), _unsubscribe_row(found, client),
            _api_row(found, "events_api", "events API (page views, forms)",
                     "page views and forms come from the contact's first and last page "
                     "seen and first and recent conversion (docs/hubspot.md)",
                     "a Marketing, Sales, Service or Content Hub Enterprise subscription "
                     "(HubSpot's spec: x-hubspot-product-tier-requirements ENTERPRISE)"),
            _api_row(found, "email_events_api", "email events API (opens, clicks)",
                     "opens and clicks come from hs_email_open / hs_email_click, one per "
                     "email; repeat opens are not seen", "the scope content on the private "
                     "app (Marketing Hub Professional or higher)"),
            Row("activity stream names visits", OK, "HubSpot has no account-wide stream",
                "each contact's engagement is read when its counters move")]
    return detected, rows


def _scopes_row(scopes: list[str] | None, client: ClientConfig) -> Row:
    check = "token and scopes"
    if scopes is None:
        return Row(check, OK, "token valid; its scopes are not readable (not a private app "
                   "token)", "each API is probed instead (the rows below)")
    missing = [(group, effect) for group, effect in needed_scopes(client)
               if not set(group) & set(scopes)]
    if not missing:
        return Row(check, OK, f"token valid; {len(scopes)} scopes, all connector needs",
                   "uses them")
    names = " / ".join(" or ".join(group) for group, _ in missing)
    return Row(check, FAIL, f"token valid; missing {names}",
               "; ".join(effect for _, effect in missing),
               f"add {names}: {APP_FIX}")


def _property_row(crm: HubSpotCRM, check: str, name: str, wanted: str,
                  scopes: list[str] | None) -> Row:
    try:
        kind = crm.property_type(name)
    except CRMError as exc:
        return Row(check, FAIL, f"{name}: not readable ({exc.detail})",
                   "the sync cannot check or create it and fails", f"the scope "
                   f"crm.schemas.contacts.read or crm.objects.contacts.read: {APP_FIX}")
    if kind == wanted:
        return Row(check, OK, f"{name} exists, type {kind}", "writes it")
    if kind is not None:
        return Row(check, FAIL, f"{name} exists with type {kind}, not {wanted}",
                   "HubSpot rejects the values written to it (400): nothing is written",
                   f"set score_property.name to a new name (connector creates it), or "
                   f"delete the {name} property in HubSpot")
    if scopes is not None and not set(SCHEMAS_WRITE) & set(scopes):
        return Row(check, FAIL, f"{name} missing; the token cannot create it",
                   "the first sync fails creating it (403)",
                   f"add crm.schemas.contacts.write: {APP_FIX}, or create {name} "
                   f"(type {wanted}) by hand")
    return Row(check, OK, f"{name} missing; can be created (type {wanted})",
               "creates it on first use")


def _fields_row(crm: HubSpotCRM, client: ClientConfig) -> Row:
    check = "contact properties of the field map"
    try:
        names = crm.contact_property_names()
    except CRMError as exc:
        return Row(check, FAIL, f"not readable ({exc.detail})", "fit fields cannot be "
                   "checked", f"the scope crm.objects.contacts.read: {APP_FIX}")
    wanted = dict(crm.fields)
    missing = sorted(f"{field} -> {prop}" for field, prop in wanted.items()
                     if prop not in names)
    seen = f"{len(names)} properties read to the end (one answer, no paging)"
    if not missing:
        return Row(check, OK, seen + f"; all {len(wanted)} mapped ones exist", "reads them")
    return Row(check, FAIL, seen + f"; missing: {', '.join(missing)}",
               "reads them as empty: rules on them never match",
               "correct crm.field_map in the client file (property names, not labels)")


def _owners_row(crm: HubSpotCRM) -> Row:
    return _call_row("owners readable", lambda: crm.owners_page(),
                     lambda n: f"{n} owner(s) on the first page",
                     "invites and notes go out in the owner's name",
                     "the run fails (403) at the first warm lead that has an owner",
                     f"add crm.objects.owners.read: {APP_FIX}")


def _unsubscribe_row(found: Mapping[str, Any], client: ClientConfig) -> Row:
    check = "unsubscribe path (subscription types)"
    types = found.get("subscription_types")
    if not client.unsubscribe.enabled:
        return Row(check, OK, "unsubscribe.enabled is false", "never unsubscribes")
    if client.unsubscribe.list_id:
        return Row(check, OK, f"unsubscribe.list_id {client.unsubscribe.list_id}",
                   "unsubscribes from that subscription type")
    if types is None:
        return Row(check, FAIL, "subscription types not readable (403)",
                   "unsubscribes fail (403)", f"add communication_preferences.read_write: "
                   f"{APP_FIX}")
    if types == 0:
        return Row(check, FAIL, "no active marketing subscription type",
                   "an unsubscribe changes nothing", "create a subscription type in "
                   "HubSpot, or set unsubscribe.list_id")
    return Row(check, OK, f"{types} active subscription type(s)",
               "unsubscribes from each of them")


def _api_row(found: Mapping[str, Any], key: str, check: str, fallback: str,
             needs: str) -> Row:
    if found.get(key):
        return Row(check, OK, "answers", "reads every event from it")
    if found.get(key) is None:
        return Row(check, FALLBACK, "the probe was refused (4xx, not 403): unverified",
                   "tries it; at the first 403 " + fallback, "nothing, unless the sync "
                   f"report says the API is unavailable; then: {needs}")
    return Row(check, FALLBACK, "refused (403)", fallback,
               f"to read every event: {needs}; else nothing to do")


def _call_row(check: str, call: Callable[[], Any], seen: Callable[[Any], str], ok: str,
              failed: str, fix: str) -> Row:
    try:
        value = call()
    except CRMError as exc:
        return Row(check, FAIL, f"refused ({exc.status}: {exc.detail})", failed, fix)
    return Row(check, OK, seen(value), ok)
