"""HubSpot through the official SDK, every call through the shared HTTP layer.

Pull: a full pull pages ``GET /crm/v3/objects/contacts``; an incremental pull searches
``lastmodifieddate`` between the bookmark (minus an overlap for the search index's lag)
and the sync's start, ascending, and gets past the 10,000-result search cap by restarting
the search at the last timestamp it saw. Engagement: per-URL page views and form
submissions from the events API (Enterprise portals), opens and clicks from the email
events API (Professional and up); lower plans degrade to the contact's own engagement
properties (``property_engagement.py``; said in the sync report). The engagement counters
and last-engagement dates on the contact form its ``activity_signature``, so the sync
fetches events only for contacts whose engagement moved (a repeat open moves a date, not
a counter).

The adapter (``adapter.py``) is made of one part per job: ``session.py`` (the SDK and the
HTTP layer every call goes through), ``contacts.py`` (the pull), ``engagement.py`` (events
per contact) and ``property_engagement.py`` (the degraded reading), ``writes.py`` (score
property, score writes, warm-up marker), ``actions.py`` (owners, tasks, unsubscribes) and
``capabilities.py`` (what the portal answers).
"""

from connector.crm.hubspot.adapter import HubSpotCRM

__all__ = ["HubSpotCRM"]
