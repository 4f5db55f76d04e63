"""`connector rules preview` on a synced HubSpot sandbox client: it names exactly the
contacts that the next sync with the new model turns warm (and invites), unsubscribes and
cools, and does it from state alone: no connection to anything, nothing written."""

from __future__ import annotations

import json
import os
import shutil
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select
from typer.testing import CliRunner

from connector.cli import _load_commands, app
from connector.config import Settings, load_client
from connector.sandbox.clock import ClockParts
from connector.sandbox.hubspot import HubSpotAccount, HubSpotSandbox
from connector.sandbox.population import Population
from connector.sandbox.server import Server
from connector.sandbox.smtp_sink import SmtpSink
from connector.store import open_store
from connector.store import tables as t
from connector.sync import run_sync
from connector.sync.runtime import make_job

from ..e2e.helpers import RULES

_load_commands()
runner = CliRunner()
CHROMIUM = os.environ.get("CONNECTOR_CHROMIUM") or shutil.which("chromium") \
    or shutil.which("chromium-browser") or shutil.which("google-chrome")
TOKEN = "tok-preview-1234"
SYNCED_AT = datetime(2026, 11, 1, 12, tzinfo=UTC)
PREVIEW_AT = SYNCED_AT + timedelta(days=1)
# the change under review: warm earlier, the contact page worth less, and decay over the
# whole score (quiet contacts fall to the floor and are unsubscribed)
NEW_RULES = (RULES.read_text()
             .replace("name: default", "name: stricter-hygiene", 1)
             .replace("warm_at: 30", "warm_at: 25", 1)
             .replace("{name: warm, from: 30}", "{name: warm, from: 25}", 1)
             .replace("applies_to: behaviour", "applies_to: total", 1)
             .replace("  min_total: 0 ", "  # min_total: range.min ", 1)
             .replace("    url: \"*/contact*\"\n    points: 10", "    url: \"*/contact*\"\n"
                      "    points: 2", 1))


def client_yaml(base_url: str, token_env: str, rules: Path, smtp_port: int) -> str:
    return f"""\
crm: {{kind: hubspot, base_url: "{base_url}", token_env: {token_env}, plan: enterprise,
      rate_limit: {{requests_per_second: 5000}}}}
rules: {rules}
owner_fallback: {{name: Linnea Berg, email: linnea@example-agency.com}}
invite: {{from_address: sales@example-agency.com}}
notify: {{enabled: false}}
smtp: {{host: 127.0.0.1, port: {smtp_port}}}
first_sync: act
"""


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def state_dump(url: str) -> dict[str, list[tuple]]:
    engine = create_engine(url)
    with engine.connect() as conn:
        dump = {table.name: sorted(map(tuple, conn.execute(select(table))), key=repr)
                for table in t.metadata.sorted_tables}
    engine.dispose()
    return dump


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("preview")
    url = f"sqlite:///{tmp / 'state.db'}"
    live_rules = tmp / "rules.yaml"
    live_rules.write_text(RULES.read_text())
    new_rules = tmp / "new-rules.yaml"
    new_rules.write_text(NEW_RULES)
    sandbox = HubSpotSandbox()
    sandbox.add_account(TOKEN, HubSpotAccount(
        "acme", Population(400, seed=11, now=SYNCED_AT), plan="enterprise",
        ten_second_limit=1_000_000, search_per_second=100_000))
    with Server(sandbox) as server, SmtpSink() as sink:
        live, offline = tmp / "live", tmp / "offline"
        live.mkdir()
        offline.mkdir()
        (live / "acme.yaml").write_text(client_yaml(server.url, "TOK_PREVIEW", live_rules,
                                                    sink.port))
        # what the preview reads: the same client, its CRM at a closed port and no token
        (offline / "acme.yaml").write_text(client_yaml(
            f"http://127.0.0.1:{closed_port()}", "TOK_PREVIEW_UNSET", live_rules, sink.port))
        (offline / "empty.yaml").write_text((offline / "acme.yaml").read_text())
        settings = Settings(state_url=url, lease_seconds=60)
        store = open_store(url)
        job = make_job(load_client(live / "acme.yaml"), settings, store,
                       env={"TOK_PREVIEW": TOKEN}, clock=ClockParts(now=lambda: SYNCED_AT))
        report = run_sync(job, full=True)
        assert report.status == "ok" and report.counts["became_warm"] > 0
        yield {"tmp": tmp, "url": url, "live": live, "offline": offline, "store": store,
               "settings": settings, "sink": sink, "live_rules": live_rules,
               "new_rules": new_rules}


def preview(world, *args: str):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CONNECTOR_STATE_URL", world["url"])
        mp.delenv("TOK_PREVIEW_UNSET", raising=False)
        return runner.invoke(app, ["rules", "preview", "--client", "acme", "--config-dir",
                                   str(world["offline"]), "--now", PREVIEW_AT.isoformat(),
                                   *args, str(world["new_rules"])])


@pytest.fixture(scope="module")
def previewed(world):
    """The preview as JSON, text and HTML, with every connection attempt recorded."""
    before = state_dump(world["url"])
    attempts: list[object] = []
    real_connect = socket.socket.connect

    def connect(sock, address):
        attempts.append(address)
        return real_connect(sock, address)

    html = world["tmp"] / "preview.html"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(socket.socket, "connect", connect)
        as_json = preview(world, "--json")
        text = preview(world, "--html", str(html), "--top", "5")
    assert as_json.exit_code == 0, as_json.output
    assert text.exit_code == 0, text.output
    return {"json": json.loads(as_json.output), "text": text.output, "html": html,
            "attempts": attempts, "unchanged": state_dump(world["url"]) == before}


def test_preview_makes_no_connection_and_writes_nothing(previewed):
    assert previewed["attempts"] == []
    assert previewed["unchanged"]


def test_preview_prints_shift_histogram_tiers_and_the_three_lists(previewed):
    data, text = previewed["json"], previewed["text"]
    assert data["contacts"] == 400
    assert data["current_model"]["name"] == "default"
    assert data["new_model"]["name"] == "stricter-hygiene" and data["new_model"]["warm_at"] == 25
    assert sum(b["contacts"] for b in data["score_shift"]) == 400
    assert data["turn_warm"] and data["hit_floor"] and data["leave_warm"]
    first = data["turn_warm"][0]
    assert first["owner"] and first["new_score"] >= 25 and first["actions"] == ["invite"]
    assert first["rules"] or first["old_score"] >= 25  # moved by rules, or by the threshold
    floor = data["hit_floor"][0]
    assert floor["new_score"] == -30 and floor["actions"] == ["unsubscribe"]
    assert any(r["rule"] == "inactivity-decay" for r in floor["rules"])
    for expected in ("400 stored contacts scored as of 2026-11-02 12:00 UTC",
                     "score shift (new - current)", "tier shift", "█",
                     f"would turn warm: {len(data['turn_warm'])}",
                     f"would hit the floor: {len(data['hit_floor'])} "
                     f"({data['unsubscribes']} unsubscribed)",
                     f"would stop being warm: {len(data['leave_warm'])}",
                     f"{first['old_score']} -> {first['new_score']}", first["name"],
                     "--top, --json or --html for all", "no CRM call, nothing written"):
        assert expected in text, expected


def test_a_sync_with_the_new_model_does_exactly_what_the_preview_said(world, previewed):
    data = previewed["json"]
    store, sink = world["store"], world["sink"]
    outbox_before = {e.dedupe_key for e in store.outbox("acme")}
    sent_before = len(sink.messages)
    world["live_rules"].write_text(NEW_RULES)
    job = make_job(load_client(world["live"] / "acme.yaml"), world["settings"], store,
                   env={"TOK_PREVIEW": TOKEN}, clock=ClockParts(now=lambda: PREVIEW_AT))
    report = run_sync(job, full=True)
    assert report.status == "ok", report.errors

    engine = create_engine(world["url"])
    with engine.connect() as conn:
        rows = conn.execute(select(t.transitions.c.kind, t.transitions.c.contact_id)
                            .where(t.transitions.c.run_id == report.run_id)).all()
    engine.dispose()
    by_kind: dict[str, set[str]] = {}
    for kind, cid in rows:
        by_kind.setdefault(kind, set()).add(cid)
    new_entries = [e for e in store.outbox("acme") if e.dedupe_key not in outbox_before]

    def ids(key: str, action: str | None = None) -> set[str]:
        return {c["contact_id"] for c in data[key] if action is None or action in c["actions"]}

    assert ids("turn_warm") == by_kind["became_warm"]
    assert ids("hit_floor") == by_kind["hit_floor"]
    assert ids("leave_warm") == by_kind["left_warm"]
    assert ids("turn_warm", "invite") == {e.contact_id for e in new_entries
                                          if e.kind == "invite"}
    assert ids("hit_floor", "unsubscribe") == {e.contact_id for e in new_entries
                                               if e.kind == "unsubscribe"}
    # the model change alone caused all of it: held for a person until released (issue 16)
    assert len(sink.messages) == sent_before
    assert {e.status for e in new_entries} == {"held"}
    for entry in new_entries:
        assert store.release_held("acme", entry.id, PREVIEW_AT)
    assert run_sync(job).status == "ok"
    assert len(sink.messages) - sent_before == data["invites"] > 0


def test_no_contacts_or_a_broken_new_model_is_one_clear_line(world, tmp_path):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CONNECTOR_STATE_URL", world["url"])
        typo = tmp_path / "typo.yaml"
        typo.write_text(NEW_RULES + "  - {id: views, event: pageview, points: 1}\n")
        empty = runner.invoke(app, ["rules", "preview", "--client", "empty", "--config-dir",
                                    str(world["offline"]), str(typo)])
        broken = tmp_path / "broken.yaml"
        broken.write_text("version: 1\nrules:\n  - {id: x, event: page_view, points: zero}\n")
        bad = runner.invoke(app, ["rules", "preview", "--client", "acme", "--config-dir",
                                  str(world["offline"]), str(broken)])
    assert empty.exit_code == 2
    assert "run `connector sync --client empty` first" in empty.output
    assert "rule 'views': no CRM adapter produces event type 'pageview'" in empty.output
    assert bad.exit_code == 2 and "broken.yaml" in bad.output and "line 3" in bad.output
    assert "Traceback" not in empty.output + bad.output


def test_preview_page_renders_offline_in_headless_chromium(previewed):
    if CHROMIUM is None:
        if os.environ.get("CONNECTOR_REQUIRE_BROWSER"):
            pytest.fail("Chromium is required here (CONNECTOR_REQUIRE_BROWSER) but not found")
        pytest.skip("no Chromium on this machine (apt install chromium)")
    playwright = pytest.importorskip("playwright.sync_api")
    data, page_file = previewed["json"], previewed["html"]
    html = page_file.read_text()
    assert "http://" not in html and "https://" not in html
    failed, external, errors = [], [], []
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1000, "height": 1300})
        page.on("requestfailed", lambda r: failed.append(r.url))
        page.on("pageerror", lambda e: errors.append(str(e)))

        def guard(route):
            if route.request.url.startswith("file:"):
                route.continue_()
            else:
                external.append(route.request.url)
                route.abort()

        page.route("**/*", guard)
        response = page.goto(page_file.as_uri(), wait_until="load")
        assert response is not None and response.ok
        chart = page.locator("#shift-chart")
        assert chart.is_visible()
        box = chart.locator("svg").bounding_box()
        assert box is not None and box["width"] > 300 and box["height"] > 150
        bars = chart.locator("rect.bar")
        assert bars.count() == 7
        assert max(float(bars.nth(i).get_attribute("height") or 0) for i in range(7)) > 100
        assert page.locator("#distribution rect.bar").count() > 20
        assert page.locator("#turn-warm tr.change").count() == len(data["turn_warm"])
        assert page.locator("#hit-floor tr.change").count() == len(data["hit_floor"])
        assert page.locator("#leave-warm tr.change").count() == len(data["leave_warm"])
        first = data["turn_warm"][0]
        assert first["name"] in page.locator("#turn-warm").inner_text()
        shot = Path(os.environ.get("CONNECTOR_SCREENSHOT_DIR", page_file.parent)) \
            / "rules-preview.png"
        page.screenshot(path=str(shot), full_page=False)
        browser.close()
    assert failed == [] and external == [] and errors == []
    assert shot.stat().st_size > 20_000
