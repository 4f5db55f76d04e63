from __future__ import annotations

import pytest

from connector.sandbox.activecampaign import ACSandbox
from connector.sandbox.faults import FaultPlan
from connector.sandbox.hubspot import HubSpotSandbox
from connector.sandbox.server import Server
from connector.sandbox.smtp_sink import SmtpSink
from connector.store import open_store


@pytest.fixture(scope="module")
def sandboxes():
    hs = HubSpotSandbox(FaultPlan())
    ac = ACSandbox(FaultPlan())
    with Server(hs) as hs_server, Server(ac) as ac_server, SmtpSink() as sink:
        yield {"hubspot": (hs_server, hs), "activecampaign": (ac_server, ac)}, sink


@pytest.fixture(scope="module")
def shared_store(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('rel') / 'state.db'}"
    store = open_store(url)
    yield store, url
    store.close()
