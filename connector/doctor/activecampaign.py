"""The ActiveCampaign rows of ``connector doctor`` (about fifteen read-only calls)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from connector.crm.activecampaign.detect import StreamProbe, detect
from connector.crm.activecampaign.marker import MARKER_TAG
from connector.crm.activecampaign.session import PAGE
from connector.crm.detected import Detected
from connector.doctor import FAIL, FALLBACK, OK, Row
from connector.errors import CRMError, NotFoundError

if TYPE_CHECKING:
    from connector.config import ClientConfig
    from connector.crm.activecampaign import ActiveCampaignCRM

KEY_FIX = ("in ActiveCampaign, Settings > Developer: copy the API key of a user who may "
           "see contacts, deals and lists, into the variable crm.token_env names")
PER_CONTACT = ("engagement is read contact by contact for the contacts a sync pulls; "
               "opens, clicks and visits of contacts whose record did not change wait "
               "until they change or a full resync")
STREAM_FIX = ("ask ActiveCampaign to enable GET /activities without a contact for this API "
              "key; meanwhile run `connector resync --full` regularly (e.g. nightly)")


def activecampaign_rows(crm: ActiveCampaignCRM,
                        client: ClientConfig) -> tuple[Detected, list[Row]]:
    token = _token_row(crm)
    if token.status == FAIL:  # nothing else can answer
        return Detected(crm.kind, {}, crm.clock.now()), [token]
    detected, probe = detect(crm)
    found = detected.found
    return detected, [
        token,
        _field_row(crm, "score field", crm.score_tag),
        _field_row(crm, "warm-up marker field", MARKER_TAG),
        _fields_row(crm, found), _tags_row(found), _owners_row(crm),
        _unsubscribe_row(crm, client), _stream_row(probe), _visits_row(probe)]


def _token_row(crm: ActiveCampaignCRM) -> Row:
    try:
        user = crm.http.get("/users/me").get("user") or {}
    except CRMError as exc:
        return Row("token", FAIL, f"refused ({exc.status}: {exc.detail})",
                   "every sync fails", KEY_FIX)
    return Row("token", OK, f"valid (API user {user.get('email') or user.get('username')})",
               "uses it")


def _field_row(crm: ActiveCampaignCRM, check: str, perstag: str) -> Row:
    if perstag not in crm._field_map():
        return Row(check, OK, f"%{perstag}% missing; created on first use (POST /fields, "
                   "type text)", "creates it and relates it to every list")
    body = crm.http.get("/fields", **{"filters[perstag]": perstag})
    kind = str(((body.get("fields") or [{}])[0]).get("type") or "?")
    if kind in ("text", "textarea", "hidden"):
        return Row(check, OK, f"%{perstag}% exists, type {kind}", "writes it")
    return Row(check, FAIL, f"%{perstag}% exists with type {kind}, not text",
               "values written to it may be refused or changed",
               "set score_property.name to a new name (connector creates a text field), or "
               f"change the field %{perstag}% to text in ActiveCampaign")


def _fields_row(crm: ActiveCampaignCRM, found: Mapping[str, Any]) -> Row:
    check = "custom fields (read to the end)"
    count = int(found.get("fields") or 0)
    seen = f"{count} fields in {max(1, -(-count // PAGE))} page(s) of {PAGE}"
    fields = crm._field_map()
    missing = sorted(f"{name} -> %{tag}%" for name, tag in crm.fields.items()
                     if tag not in fields)
    if not missing:
        return Row(check, OK, seen + "; every mapped field exists", "reads every page")
    return Row(check, FAIL, seen + f"; missing: {', '.join(missing)}",
               "reads them as empty: rules on them never match",
               "correct crm.field_map (personalisation tags) in the client file")


def _tags_row(found: Mapping[str, Any]) -> Row:
    count = int(found.get("tags") or 0)
    return Row("tags (read to the end)", OK,
               f"{count} tags in {max(1, -(-count // PAGE))} page(s) of {PAGE}",
               "reads every page: tag rules see every tag by name")


def _owners_row(crm: ActiveCampaignCRM) -> Row:
    try:
        users = crm.http.get("/users", limit=PAGE).get("users") or []
    except CRMError as exc:
        return Row("owners readable", FAIL, f"refused ({exc.status}: {exc.detail})",
                   "the run fails (403) at the first warm lead whose deal has an owner",
                   KEY_FIX)
    return Row("owners readable", OK, f"{len(users)} user(s)",
               "invites and notes go out in the deal owner's name")


def _unsubscribe_row(crm: ActiveCampaignCRM, client: ClientConfig) -> Row:
    check = "unsubscribe path (list)"
    if not client.unsubscribe.enabled:
        return Row(check, OK, "unsubscribe.enabled is false", "never unsubscribes")
    list_id = client.unsubscribe.list_id or "1"
    try:
        name = (crm.http.get(f"/lists/{list_id}").get("list") or {}).get("name")
    except NotFoundError:
        return Row(check, FAIL, f"list {list_id} does not exist", "unsubscribes fail (404)",
                   "set unsubscribe.list_id to the id of the client's marketing list")
    except CRMError as exc:
        return Row(check, FAIL, f"list {list_id} refused ({exc.status})",
                   "unsubscribes fail", KEY_FIX)
    return Row(check, OK, f"list {list_id} ({name})",
               "unsubscribes from it (contactLists status 2)")


def _stream_row(probe: StreamProbe) -> Row:
    check = "activity stream (account-wide)"
    state = probe.state
    if state == "ok":
        return Row(check, OK, "GET /activities lists the account's activities",
                   "reads one stream for many contacts, and who engaged since the last sync")
    if state == "quiet":
        return Row(check, OK, "answers, with no activity yet (nor in the sample)",
                   "reads it; the first activities will show whether it lists them")
    seen = {"refused": "refused without a contact (403/422)",
            "missing": "not found without a contact (404)",
            "empty": "answers empty though the sampled contacts have activities"}[state]
    if probe.refused:
        seen += f": {probe.refused}"
    return Row(check, FALLBACK, seen, PER_CONTACT, STREAM_FIX)


def _visits_row(probe: StreamProbe) -> Row:
    check = "activity stream names visits (sample)"
    visits = sum(len(s.visits) for s in probe.sampled)
    who = f"{len(probe.sampled)} recently active contact(s), {visits} page visit(s)"
    if probe.state != "ok":
        return Row(check, OK, f"{who}: the account-wide stream is not read (the row above)",
                   "reads the visits of the contacts it reads from their tracking logs")
    if probe.names_visits is None:
        return Row(check, OK, f"{who}: unproven (no visit in the sample)",
                   "treats it as unproven: reads the tracking logs of contacts whose "
                   "record moved")
    if probe.names_visits:
        return Row(check, OK, f"{who}: every visit named (TrackingLog)",
                   "finds visitors from the stream")
    unnamed = sum(len(s.unnamed) for s in probe.sampled)
    return Row(check, FALLBACK, f"{who}: {unnamed} visit(s) only in the tracking logs",
               "does not rely on the stream for visits: a visit by a contact whose record "
               "did not change is seen at the next full resync",
               "nothing to set; schedule `connector resync --full` (e.g. nightly) so "
               "visits are read from every contact's tracking logs")
