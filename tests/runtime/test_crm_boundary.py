"""The CRM boundary: adapters found by kind, and actions a CRM lacks refused before any call."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from connector.cli import _load_commands, app
from connector.clock import SystemClock
from connector.config import load_client
from connector.crm import registry
from connector.crm.base import CRM, TASK, UNSUBSCRIBE, PullNotes
from connector.errors import ClientConfigError
from connector.sandbox.memory_crm import MemoryCRM
from connector.store import open_store
from connector.sync.runtime import client_runtime, make_crm

from ..e2e.helpers import RULES, settings

_load_commands()


def client_file(folder: Path, kind: str, invite: str) -> Path:
    path = folder / "shop.yaml"
    path.write_text(f"""\
crm: {{kind: {kind}, base_url: "http://127.0.0.1:9", token_env: SHOP_TOKEN}}
rules: {RULES}
owner_fallback: {{name: Linnea Berg, email: linnea@example-agency.com}}
invite: {invite}
notify: {{enabled: false}}
""")
    return path


def test_each_kind_is_served_by_the_adapter_that_registered_it(tmp_path):
    from connector.crm.activecampaign import ActiveCampaignCRM
    from connector.crm.hubspot import HubSpotCRM

    for kind, cls in (("hubspot", HubSpotCRM), ("activecampaign", ActiveCampaignCRM)):
        client = load_client(client_file(tmp_path, kind, "{via: smtp}"))
        crm = make_crm(client, env={"SHOP_TOKEN": "t"})
        assert type(crm) is cls and isinstance(crm, CRM)
        crm.close()


def test_a_new_adapter_registers_itself_without_touching_the_runtime(monkeypatch, tmp_path):
    monkeypatch.setattr(registry, "_ADAPTERS", dict(registry._ADAPTERS))

    @registry.register("hubspot")  # say, a fork of the HubSpot adapter
    class Fork(MemoryCRM):
        kind = "hubspot"

        @classmethod
        def from_config(cls, client, token, *, clock, sleep=None):
            return cls(clock=clock)

    client = load_client(client_file(tmp_path, "hubspot", "{via: smtp}"))
    assert type(make_crm(client, env={"SHOP_TOKEN": "t"})) is Fork


def test_an_unknown_kind_names_the_kinds_there_are():
    with pytest.raises(ClientConfigError, match="use one of: activecampaign, hubspot"):
        registry.adapter_for("pipedrive")


def test_an_action_the_crm_lacks_is_refused_before_the_adapter_is_built(tmp_path, monkeypatch):
    path = client_file(tmp_path, "hubspot", "{via: activecampaign_tag, tag: warm}")
    client = load_client(path)
    built: list[str] = []
    hubspot = registry.adapter_for("hubspot")
    monkeypatch.setattr(hubspot, "from_config", lambda *a, **k: built.append("built"))
    with pytest.raises(ClientConfigError) as err:
        make_crm(client, env={"SHOP_TOKEN": "t"})
    assert str(err.value).startswith(f"{path}: invite.via: the hubspot adapter cannot do 'tag'")
    assert "fix: use invite.via: smtp or hubspot_task" in str(err.value)
    assert built == []


class _NoActions(MemoryCRM):
    capabilities = frozenset({TASK})


def test_an_adapter_passed_in_is_checked_too_and_never_called(tmp_path):
    client = load_client(client_file(tmp_path, "activecampaign", "{via: hubspot_task}"))
    crm = _NoActions()
    url = f"sqlite:///{tmp_path / 'state.db'}"
    store = open_store(url)
    with pytest.raises(ClientConfigError, match="unsubscribe.enabled: .*"
                       r"fix: set unsubscribe.enabled: false"), \
            client_runtime(client, settings(url), store, crm=crm, env={"SHOP_TOKEN": "t"}):
        pass
    store.close()
    assert sum(crm.calls.values()) == 0
    assert UNSUBSCRIBE not in crm.capabilities


def test_sync_says_which_field_to_fix_in_one_line(tmp_path, monkeypatch):
    folder = tmp_path / "clients"
    folder.mkdir()
    client_file(folder, "hubspot", "{via: activecampaign_automation, automation_id: '7'}")
    monkeypatch.setenv("CONNECTOR_CONFIG_DIR", str(folder))
    monkeypatch.setenv("CONNECTOR_STATE_URL", f"sqlite:///{tmp_path / 'state.db'}")
    monkeypatch.setenv("SHOP_TOKEN", "t")
    result = CliRunner().invoke(app, ["sync", "--client", "shop"])
    assert result.exit_code != 0
    assert "invite.via: the hubspot adapter cannot do 'automation'" in result.output
    assert "Traceback" not in result.output


def test_skipped_records_are_taken_once():
    notes = PullNotes()
    notes.skipped["7"] = "unreadable record"
    assert notes.take_skipped() == {"7": "unreadable record"}
    assert notes.take_skipped() == {}


def test_every_adapter_declares_the_boundary_the_sync_reads():
    from connector.crm.activecampaign import ActiveCampaignCRM
    from connector.crm.hubspot import HubSpotCRM

    for cls in (MemoryCRM, HubSpotCRM, ActiveCampaignCRM):
        assert isinstance(cls.capabilities, frozenset) and cls.capabilities
        assert isinstance(cls.incremental_ordered, bool)
        assert callable(cls.retried) and callable(cls.close)
    assert MemoryCRM(clock=SystemClock()).retried() == {}
