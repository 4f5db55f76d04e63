"""Client files: the examples load; every broken one gets one line with file, field and fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from connector.config import load_client, load_clients
from connector.errors import ClientConfigError

ROOT = Path(__file__).resolve().parents[2]
GOOD = """\
crm: {kind: hubspot, token_env: HUBSPOT_TOKEN_X}
rules: RULES
owner_fallback: {name: Linnea Berg, email: linnea@example.com}
"""

BROKEN = {
    "bad_yaml": "crm: {kind: hubspot\n",
    "not_mapping": "- a\n- b\n",
    "unknown_key": GOOD + "colour: red\n",
    "crm_missing": "rules: RULES\nowner_fallback: {name: A, email: a@b.co}\n",
    "kind_unknown": GOOD.replace("hubspot", "salesforce"),
    "token_in_yaml": GOOD + "token: pat-na1-abc\n",
    "nested_api_key": GOOD.replace("token_env: HUBSPOT_TOKEN_X",
                                   "token_env: HUBSPOT_TOKEN_X, api_key: x"),
    "smtp_password": GOOD + "smtp: {password: hunter2}\n",
    "token_env_lowercase": GOOD.replace("HUBSPOT_TOKEN_X", "my-token"),
    "ac_without_url": GOOD.replace("kind: hubspot", "kind: activecampaign"),
    "url_not_http": GOOD.replace("kind: hubspot", "kind: hubspot, base_url: ftp://x"),
    "rules_missing_file": GOOD.replace("RULES", "nope/none.yaml"),
    "schedule_both": GOOD + "schedule: {interval_minutes: 5, cron: '* * * * *'}\n",
    "schedule_neither": GOOD + "schedule: {timezone: UTC}\n",
    "cron_invalid": GOOD + "schedule: {cron: 'every monday'}\n",
    "timezone_unknown": GOOD + "schedule: {interval_minutes: 5, timezone: Mars/Olympus}\n",
    "interval_negative": GOOD + "schedule: {interval_minutes: -5}\n",
    "owner_email_bad": GOOD.replace("linnea@example.com", "linnea-at-example"),
    "invite_via_unknown": GOOD + "invite: {via: carrier-pigeon}\n",
    "tag_without_tag": GOOD + "invite: {via: activecampaign_tag}\n",
    "smtp_port_range": GOOD + "smtp: {port: 70000}\n",
    "score_property_name": GOOD + "score_property: {name: 'Lead Score!'}\n",
    "dry_run_type": GOOD + "dry_run: maybe\n",
}


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / f"{name.replace('_', '-')}.yaml"
    path.write_text(text.replace("RULES", str(ROOT / "config" / "rules" / "default.yaml")))
    return path


def test_example_clients_load():
    clients = load_clients(ROOT / "config" / "clients")
    assert set(clients) == {"acme-hubspot", "nordic-ac"}
    assert clients["acme-hubspot"].rules.exists()
    assert clients["nordic-ac"].schedule.cron


def test_a_good_file_defaults_sensibly(tmp_path):
    client = load_client(write(tmp_path, "good", GOOD))
    assert client.name == "good" and client.crm.base_url == "https://api.hubapi.com"
    assert client.score_property.name == "connector_lead_score"
    assert client.schedule.interval_minutes == 15 and not client.dry_run


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_client_file_names_file_field_and_fix(tmp_path, name):
    path = write(tmp_path, name, BROKEN[name])
    with pytest.raises(ClientConfigError) as info:
        load_client(path)
    message = str(info.value)
    assert str(path) in message and "(fix: " in message and "\n" not in message
    for secret in ("pat-na1-abc", "hunter2"):
        assert secret not in message


def test_token_is_read_from_the_named_variable_only(tmp_path):
    client = load_client(write(tmp_path, "good", GOOD))
    assert client.token({"HUBSPOT_TOKEN_X": "pat-1"}) == "pat-1"
    with pytest.raises(ClientConfigError, match="HUBSPOT_TOKEN_X is not set"):
        client.token({})
    assert "pat-1" not in repr(client)


def test_duplicate_client_names_are_refused(tmp_path):
    write(tmp_path, "a", GOOD + "name: same\n")
    write(tmp_path, "b", GOOD + "name: same\n")
    write(tmp_path, "c", GOOD + "name: other\n")
    clients = load_clients(tmp_path)
    assert set(clients) == {"other"}  # neither of the two can be trusted; the rest goes on
    assert {Path(p).name for p in clients.broken} == {"a.yaml", "b.yaml"}
    assert all("used twice" in str(e) for e in clients.broken.values())


def test_a_file_name_that_is_no_client_name_is_named_as_the_file_not_a_field(tmp_path):
    """kunde-ø.yaml has no name: line; the error says the name comes from the file."""
    path = tmp_path / "kunde-ø.yaml"
    path.write_text(GOOD.replace("RULES", str(ROOT / "config" / "rules" / "default.yaml")),
                    encoding="utf-8")
    with pytest.raises(ClientConfigError) as info:
        load_client(path)
    message = str(info.value)
    assert message.startswith(f"{path}: file name: the file has no name: field, so the "
                              "client is named after the file ('kunde-ø')")
    assert "(fix: rename the file to kunde-o.yaml, or add the line name: kunde-o to it)" \
        in message
    assert "pattern" not in message and "^[a-z0-9]" not in message


def test_a_bad_from_address_says_what_an_address_looks_like_not_the_regex(tmp_path):
    path = write(tmp_path, "acme", GOOD + "invite:\n  via: smtp\n"
                 "  from_address: sales(at)example.com\n")
    with pytest.raises(ClientConfigError) as info:
        load_client(path)
    assert str(info.value) == (
        f"{path}: line 6: invite.from_address: 'sales(at)example.com' is not an email "
        "address (fix: write it as name@domain, e.g. sales@example-agency.com)")


def test_rules_naming_a_folder_is_refused_at_the_rules_line(tmp_path):
    path = write(tmp_path, "acme", GOOD.replace("RULES", str(ROOT / "config" / "rules")))
    with pytest.raises(ClientConfigError) as info:
        load_client(path)
    assert str(info.value) == (
        f"{path}: line 2: rules: rules: {ROOT / 'config' / 'rules'} is a folder, not a rules "
        f"file (fix: name one YAML file in it, e.g. rules: "
        f"{ROOT / 'config' / 'rules' / 'default.yaml'})")
