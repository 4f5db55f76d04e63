"""The two sandboxes the fidelity check talks to: seeded accounts on loopback, limits
raised so that the checkers' bursts are not answered 429 (the limits have their own
tests)."""

from __future__ import annotations

from dataclasses import dataclass

from connector.sandbox.activecampaign import ACAccount, ACSandbox
from connector.sandbox.hubspot import HubSpotAccount, HubSpotSandbox
from connector.sandbox.population import Population
from connector.sandbox.server import Server

AC_TOKEN = "fidelity-ac-token"
HUBSPOT_TOKEN = "fidelity-hubspot-token"
CONTACTS = 120


@dataclass
class Running:
    ac: Server
    hubspot: Server
    ac_account: ACAccount
    hubspot_account: HubSpotAccount

    def stop(self) -> None:
        self.ac.stop()
        self.hubspot.stop()


def start(contacts: int = CONTACTS) -> Running:
    """Both sandboxes, with ``contacts`` people each (and their engagement); the HubSpot
    portal is Enterprise, so the events and email events APIs answer."""
    population = Population(contacts)
    ac_app = ACSandbox()
    # an agency's custom fields and tags beside the fit fields: the spec's request
    # examples name field 8 (POST /fieldRels) and tag 20 (POST /contactTags), which then
    # exist, so their documented answers are checked too, not only their 404s
    ac_account = ac_app.add_account(AC_TOKEN, ACAccount(
        "fidelity", population, requests_per_second=10_000, custom_fields=8, tags=20))
    # an account field (text: any generated value fits) with a value on account 1, so that
    # the field and value routes' "id" 1 exists and their documented answers are checked too
    field = ac_account.accounts.add_field("Segment", "text")
    ac_account.accounts.set_value(1, field["id"], "agency")
    hs_app = HubSpotSandbox()
    hs_account = hs_app.add_account(HUBSPOT_TOKEN, HubSpotAccount(
        "fidelity", population, plan="enterprise", ten_second_limit=1_000_000,
        search_per_second=100_000))
    return Running(Server(ac_app), Server(hs_app), ac_account, hs_account)
