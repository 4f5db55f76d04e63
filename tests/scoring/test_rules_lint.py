"""`rules check` warns about rules that can never fire: an event type or a field that no
CRM adapter produces (the check still passes: exit 0)."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from connector.cli import _load_commands, app
from connector.scoring import load_rules
from connector.scoring.lint import known_event_types, known_fields, unknown_names

from .conftest import DEFAULT_RULES

_load_commands()
runner = CliRunner()

TYPOS = """\
version: 1
rules:
  - id: pageviews
    event: pageview
    points: 5
  - id: decision-maker
    field: jobtitle
    contains: ceo
    points: 15
  - id: contact-page
    event: page_view
    url: "*/contact*"
    points: 10
  - id: webinar
    event: webinar_signup
    points: 3
  - id: plan
    field: subscription_plan
    equals: pro
    points: 5
"""


def check(path: Path, *extra: str):
    empty = path.parent / "no-clients"
    empty.mkdir(exist_ok=True)
    args = ["rules", "check", str(path), *(extra or ("--config-dir", str(empty)))]
    return runner.invoke(app, args)


def warnings(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("warning:")]


def test_unknown_event_types_and_fields_warn_one_line_each_and_pass(tmp_path):
    rules = tmp_path / "typos.yaml"
    rules.write_text(TYPOS)
    result = check(rules)
    assert result.exit_code == 0, result.output
    assert "ok: 5 rules" in result.output
    lines = warnings(result.output)
    assert len(lines) == 4, result.output
    pageview, jobtitle, webinar, plan = lines
    assert f"{rules}:4: rule 'pageviews'" in pageview
    assert "event type 'pageview'" in pageview and "did you mean 'page_view'?" in pageview
    assert f"{rules}:7: rule 'decision-maker'" in jobtitle
    assert "field 'jobtitle'" in jobtitle and "did you mean 'job_title'?" in jobtitle
    assert f"{rules}:15: rule 'webinar'" in webinar and "known: download, email_click" in webinar
    assert f"{rules}:18: rule 'plan'" in plan and "crm.field_map" in plan


def test_a_field_a_clients_field_map_adds_is_known(tmp_path):
    rules = tmp_path / "typos.yaml"
    rules.write_text(TYPOS)
    clients = tmp_path / "clients"
    clients.mkdir()
    (clients / "acme.yaml").write_text(f"""\
crm: {{kind: hubspot, token_env: TOK_ACME, field_map: {{subscription_plan: plan_c}}}}
rules: {rules}
owner_fallback: {{name: Linnea Berg, email: linnea@example-agency.com}}
""")
    result = check(rules, "--config-dir", str(clients))
    assert result.exit_code == 0, result.output
    assert not any("subscription_plan" in line for line in warnings(result.output))
    assert len(warnings(result.output)) == 3


def test_the_shipped_model_names_only_what_the_adapters_produce(tmp_path):
    result = check(DEFAULT_RULES)
    assert result.exit_code == 0 and warnings(result.output) == []
    assert unknown_names(load_rules(DEFAULT_RULES), DEFAULT_RULES) == []


def test_known_names_are_what_the_adapters_produce():
    from connector.crm.activecampaign import contacts as activecampaign
    from connector.crm.hubspot import contacts as hubspot
    from connector.models import EventType

    assert set(known_event_types()) == {t.value for t in EventType}
    assert {*hubspot.DEFAULT_FIELDS, *activecampaign.DEFAULT_FIELDS, "tags"} <= set(
        known_fields())
    assert "jobtitle" not in known_fields()
