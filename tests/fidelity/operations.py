"""The vendor operations the adapters (and the third-party clients of the fidelity check)
call, in one place: the committed spec subsets under specs/ hold exactly these, and the
schemathesis run checks every one of them against the sandboxes.

Sources: ActiveCampaign's shipped OpenAPI document (../shared/specs/activecampaign-v3
.openapi.json); HubSpot's public OpenAPI documents (github.com/HubSpot/HubSpot-public-api-
spec-collection, the files named below, commit ``HUBSPOT_COMMIT``). HubSpot's legacy
``GET /email/public/v1/events`` has no OpenAPI document there: the third-party client
(tap-hubspot's email_events stream) checks it instead.
"""

from __future__ import annotations

AC_SOURCE = "shared/specs/activecampaign-v3.openapi.json"
HUBSPOT_REPO = "HubSpot/HubSpot-public-api-spec-collection"
HUBSPOT_COMMIT = "99893791383254f52aa07662baeb98aad65cc710"

# (method, path as the spec spells it): connector/crm/activecampaign/'s calls. GET
# /api/3/ (tap-activecampaign's token check) is not in the spec: the tap's run checks it.
ACTIVECAMPAIGN: list[tuple[str, str]] = [
    ("GET", "/contacts"),
    ("GET", "/contacts/{contactId}/trackingLogs"),
    ("GET", "/contacts/{id}/fieldValues"),
    ("GET", "/activities"),
    ("GET", "/fields"),
    ("POST", "/fields"),
    ("POST", "/fieldRels"),
    ("POST", "/fieldValues"),
    ("POST", "/contact/sync"),
    ("POST", "/import/bulk_import"),
    ("GET", "/import/info"),
    ("GET", "/deals"),
    ("GET", "/users/{id}"),
    ("GET", "/tags"),
    ("POST", "/tags"),
    ("POST", "/contactTags"),
    ("POST", "/contactAutomations"),
    ("POST", "/contactLists"),
    ("POST", "/dealTasks"),
]

# HubSpot: source file -> operations (connector/crm/hubspot/'s SDK calls, and GET
# /crm/v3/properties/contacts, which tap-hubspot's discovery reads). ``{objectType}`` is
# fixed to ``contacts`` in the subset: the sandbox keeps contacts only.
HUBSPOT: dict[str, list[tuple[str, str]]] = {
    "PublicApiSpecs/CRM/Contacts/Rollouts/424/v3/contacts.json": [
        ("GET", "/crm/v3/objects/contacts"),
        ("GET", "/crm/v3/objects/contacts/{contactId}"),
        ("PATCH", "/crm/v3/objects/contacts/{contactId}"),
        ("POST", "/crm/v3/objects/contacts/search"),
        ("POST", "/crm/v3/objects/contacts/batch/update"),
    ],
    "PublicApiSpecs/CRM/Properties/Rollouts/145899/v3/properties.json": [
        ("GET", "/crm/v3/properties/{objectType}"),
        ("POST", "/crm/v3/properties/{objectType}"),
        ("GET", "/crm/v3/properties/{objectType}/{propertyName}"),
        ("POST", "/crm/v3/properties/{objectType}/groups"),
        ("GET", "/crm/v3/properties/{objectType}/groups/{groupName}"),
    ],
    "PublicApiSpecs/CRM/Crm Owners/Rollouts/146888/v3/crmOwners.json": [
        ("GET", "/crm/v3/owners"),
    ],
    "PublicApiSpecs/CRM/Tasks/Rollouts/424/v3/tasks.json": [
        ("POST", "/crm/v3/objects/tasks"),
    ],
    "PublicApiSpecs/Events/Events/Rollouts/147897/v3/events.json": [
        ("GET", "/events/v3/events"),
    ],
    "PublicApiSpecs/Communication Preferences/Subscriptions/Rollouts/147906/v3/"
    "subscriptions.json": [
        ("GET", "/communication-preferences/v3/definitions"),
        ("POST", "/communication-preferences/v3/unsubscribe"),
    ],
}

# Corrections HubSpot made to its own documents since the v3 files: object property
# values are nullable (an unset property is null) in the contacts document's later
# versions (PublicApiSpecs/CRM/Contacts/Rollouts/424/2025-09/contacts.json and
# 2026-09/contacts.json, "additionalProperties": {"type": "string", "nullable": true}).
# (source file, component schema, JSON path inside it, key, value)
HUBSPOT_PATCHES: list[tuple[str, str, tuple[str, ...], str, object]] = [
    ("PublicApiSpecs/CRM/Contacts/Rollouts/424/v3/contacts.json", schema,
     ("properties", "properties", "additionalProperties"), "nullable", True)
    for schema in ("SimplePublicObject", "SimplePublicObjectWithAssociations")
]
