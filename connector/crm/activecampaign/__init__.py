"""ActiveCampaign (API v3) with ``requests``, every call through the shared HTTP layer.

Pull: contacts ordered by id and paged with ``id_greater`` (never deep offsets);
incrementally with ``filters[updated_after]``, which has date granularity in the account's
time zone: the filter asks from a day before the bookmark and the exact ``udate`` (which
carries its offset) drops what is older, so nothing updated in the same second or day is
missed and nothing is yielded twice. Fit data from standard fields, custom field values
(by personalisation tag) and tags; ground truth and owners from deals. Engagement:
opens, clicks and forms from ``/activities`` (one account-wide stream for big batches),
page visits from each contact's tracking logs. ActiveCampaign exposes no engagement
counters on the contact (``activity_signature`` is None), and a site visit does not move
``udate``: an incremental pull first reads the account's activity stream and names, in
``engaged``, each contact with an activity or a ``TrackingLog`` (a visit) and its event ids;
the sync fetches the engagement of contacts with ids it has not stored, or whose record
changed other than by our own write (``connector/sync/own_writes.py``), which it trusts only
where the stream is proven to name visits (``stream_names_visits``). A stream refused
(4xx) or answered empty (unproven) is read per contact instead, and the sync report says
so. Deals and the stream are paged with a few requests in flight (``session.py``), and every
other list page after page (``paging.offset_pages``), all under the one limiter.

The score lives in a *text* custom field (ActiveCampaign has no number type), written as
a plain integer ("30", "-5"): sales filter with a segment condition "Lead score (connector)

The adapter (``adapter.py``) is made of one part per job: ``session.py`` (the HTTP client
and list paging), ``lookups.py`` (fields, tags, deals: read once a run), ``contacts.py``
(the pull), ``activities.py`` (reading activity-stream rows), ``engagement.py`` (the stream
or each contact's activities, and tracking logs), ``writes.py`` (score field, contact sync
and bulk imports), ``marker.py`` (the warm-up marker field), ``actions.py`` (owners, tasks,
tags, automations, unsubscribes) and ``detect.py`` (what the account can do).
"""

from connector.crm.activecampaign.adapter import ActiveCampaignCRM

__all__ = ["ActiveCampaignCRM"]
