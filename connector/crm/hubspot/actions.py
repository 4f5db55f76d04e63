"""HubSpot people and actions: owners (read once a run), tasks for them, unsubscribes from
the portal's marketing subscription types; tags and automations do not exist here."""

from __future__ import annotations

from hubspot.communication_preferences.models import PublicUpdateSubscriptionStatusRequest
from hubspot.crm.objects.tasks import SimplePublicObjectInputForCreate

from connector.crm.hubspot.session import HubSpotSession
from connector.errors import FixConfiguration, SkipRecord
from connector.models import Contact, Owner


class Actions(HubSpotSession):
    """``get_owner``, ``create_task``, ``add_tag``, ``start_automation``, ``unsubscribe``."""

    def get_owner(self, contact: Contact) -> Owner | None:
        if not contact.owner_id:
            return None
        return self._owner_map().get(contact.owner_id)

    def _owner_map(self) -> dict[str, Owner]:
        """The portal's owners by id, read once per run (every page)."""
        if self._owners is None:
            api = self._api("owners", lambda: self.sdk.crm.owners.owners_api)
            owners: dict[str, Owner] = {}
            for page in self._pages(lambda after: api.get_page(limit=100, after=after),
                                    "GET /crm/v3/owners"):
                for o in page.results:
                    name = " ".join(p for p in (o.first_name, o.last_name) if p) or o.email
                    owners[str(o.id)] = Owner(id=str(o.id), name=name, email=o.email)
            self._owners = owners
        return self._owners

    def create_task(self, contact: Contact, owner: Owner | None, subject: str, body: str) -> str:
        api = self._api("tasks", lambda: self.sdk.crm.objects.tasks.basic_api)
        props = {"hs_timestamp": self.clock.now().isoformat(), "hs_task_subject": subject,
                 "hs_task_body": body, "hs_task_status": "NOT_STARTED",
                 "hs_task_priority": "HIGH"}
        # hubspot_owner_id takes only an owner of the portal (its options are the owners:
        # https://knowledge.hubspot.com/records/edit-property-values, "Contact owner"); the
        # owner_fallback stand-in is no HubSpot owner, so its task stays unassigned and its
        # subject and body name who it is for.
        if owner and owner.id in self._owner_map():
            props["hubspot_owner_id"] = owner.id
        task = api.create(SimplePublicObjectInputForCreate(properties=props, associations=[{
            "to": {"id": contact.id},
            "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 204}]}]))
        return str(task.id)

    def add_tag(self, contact: Contact, tag: str) -> None:
        raise FixConfiguration("HubSpot contacts have no tags", crm=self.kind,
                               client=self.client_name, endpoint="add_tag",
                               fix="use invite.via: smtp or hubspot_task for HubSpot clients")

    def start_automation(self, contact: Contact, automation_id: str) -> None:
        raise FixConfiguration("automations are not started through this connector on HubSpot",
                               crm=self.kind, client=self.client_name,
                               endpoint="start_automation",
                               fix="use invite.via: smtp or hubspot_task for HubSpot clients")

    def unsubscribe(self, contact: Contact, list_id: str | None = None) -> None:
        if not contact.email:
            raise SkipRecord("the contact has no email address to unsubscribe", crm=self.kind,
                             client=self.client_name, endpoint="unsubscribe",
                             record_id=contact.id)
        status = self._api("status", lambda: self.sdk.communication_preferences.status_api)
        for sub in [list_id] if list_id else self._marketing_subscriptions():
            request = PublicUpdateSubscriptionStatusRequest(
                email_address=contact.email, subscription_id=str(sub),
                legal_basis="LEGITIMATE_INTEREST_CLIENT",
                legal_basis_explanation="Lead score reached the floor (connector)")
            try:
                status.unsubscribe(public_update_subscription_status_request=request)
            except SkipRecord as exc:
                if "already" not in exc.detail:
                    raise

    def _marketing_subscriptions(self) -> list[str]:
        """The portal's active, non-internal subscription types, read once per adapter (a
        run): they do not change between two contacts of one run."""
        if self._subscription_ids is None:
            definitions = self._api(
                "definitions", lambda: self.sdk.communication_preferences.definition_api)
            self._subscription_ids = [
                str(d.id) for d in definitions.get_page().subscription_definitions
                if d.is_active and not d.is_internal]
        return self._subscription_ids
