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
    # accounts, their custom fields and contacts (company scores, issue 24 item 5)
    ("GET", "/accounts"),
    ("GET", "/accounts/{id}"),
    ("PUT", "/accounts/{id}"),
    ("GET", "/accountContacts"),
    ("POST", "/accountContacts"),
    ("GET", "/accountContacts/{id}"),
    ("GET", "/contacts/{id}/accountContacts"),
    ("GET", "/accountCustomFieldMeta"),
    ("POST", "/accountCustomFieldMeta"),
    ("GET", "/accountCustomFieldMeta/{id}"),
    ("GET", "/accountCustomFieldData"),
    ("POST", "/accountCustomFieldData"),
    ("GET", "/accountCustomFieldData/{id}"),
    ("PUT", "/accountCustomFieldData/{id}"),
    ("POST", "/accountCustomFieldData/bulkCreate"),
    ("PATCH", "/accountCustomFieldData/bulkUpdate"),
]

# HubSpot: source file -> operations (connector/crm/hubspot/'s SDK calls, GET
# /crm/v3/properties/contacts, which tap-hubspot's discovery reads, and the companies,
# company properties and contact<->company associations the sandbox models for company
# scores, issue 24 item 5). Path parameters naming an object type are fixed in the subset
# (``HUBSPOT_OBJECT_TYPES``): the sandbox keeps contacts and companies only.
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
    "PublicApiSpecs/CRM/Companies/Rollouts/424/v3/companies.json": [
        ("GET", "/crm/v3/objects/companies"),
        ("GET", "/crm/v3/objects/companies/{companyId}"),
        ("POST", "/crm/v3/objects/companies/search"),
        ("POST", "/crm/v3/objects/companies/batch/read"),
        ("POST", "/crm/v3/objects/companies/batch/update"),
    ],
    "PublicApiSpecs/CRM/Associations/Rollouts/130902/v4/associations.json": [
        ("GET", "/crm/v4/objects/{objectType}/{objectId}/associations/{toObjectType}"),
        ("POST", "/crm/v4/associations/{fromObjectType}/{toObjectType}/batch/read"),
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

# The object types each source's subsets fix their type parameters to: one subset per
# entry (the first keeps the file's name, the others add "-<entry name>"); contacts when
# a source is not named here.
HUBSPOT_OBJECT_TYPES: dict[str, dict[str, dict[str, str]]] = {
    "PublicApiSpecs/CRM/Properties/Rollouts/145899/v3/properties.json": {
        "contacts": {"objectType": "contacts"}, "companies": {"objectType": "companies"}},
    "PublicApiSpecs/CRM/Associations/Rollouts/130902/v4/associations.json": {
        "contacts": {"objectType": "contacts", "fromObjectType": "contacts",
                     "toObjectType": "companies"},
        "companies": {"objectType": "companies", "fromObjectType": "companies",
                      "toObjectType": "contacts"}},
}

# Corrections HubSpot made to its own documents since the v3 files: object property
# values are nullable (an unset property is null) in the contacts document's later
# versions (PublicApiSpecs/CRM/Contacts/Rollouts/424/2025-09/contacts.json and
# 2026-09/contacts.json, "additionalProperties": {"type": "string", "nullable": true}).
# (source file, component schema, JSON path inside it, key, value)
HUBSPOT_PATCHES: list[tuple[str, str, tuple[str, ...], str, object]] = [
    *((source, schema, ("properties", "properties", "additionalProperties"), "nullable", True)
      for source in ("PublicApiSpecs/CRM/Contacts/Rollouts/424/v3/contacts.json",
                     "PublicApiSpecs/CRM/Companies/Rollouts/424/v3/companies.json")
      for schema in ("SimplePublicObject", "SimplePublicObjectWithAssociations")),
    # The v4 guide: the unlabeled association type "will always [be] returned in responses
    # with a label value of null" (developers.hubspot.com/docs/api/crm/associations,
    # "HubSpot defined association types"); the document types the label a string.
    ("PublicApiSpecs/CRM/Associations/Rollouts/130902/v4/associations.json",
     "AssociationSpecWithLabel", ("properties", "label"), "nullable", True),
    # A batch read's NO_ASSOCIATIONS_FOUND error carries subCategory as a string
    # ("crm.associations.NO_ASSOCIATIONS_FOUND", in answers recorded from real portals);
    # the document types StandardError.subCategory an object.
    ("PublicApiSpecs/CRM/Associations/Rollouts/130902/v4/associations.json",
     "StandardError", ("properties", "subCategory"), "type", "string"),
]
