"""`connector evaluate` as an agency runs it: sync a portal, then backtest, compare, learn
and write the HTML report, which must render offline in headless Chromium."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from connector.cli import _load_commands, app
from connector.sandbox.activecampaign import ACAccount, ACSandbox
from connector.sandbox.hubspot import HubSpotAccount, HubSpotSandbox
from connector.sandbox.population import Population
from connector.sandbox.server import Server
from connector.scoring import load_rules

from ..e2e.helpers import RULES

_load_commands()
runner = CliRunner()
CHROMIUM = os.environ.get("CONNECTOR_CHROMIUM") or shutil.which("chromium") \
    or shutil.which("chromium-browser") or shutil.which("google-chrome")


@pytest.fixture(scope="module")
def synced(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("evaluate")
    app_ = HubSpotSandbox()
    app_.add_account("tok-eval-1234", HubSpotAccount(
        "acme", Population(1500, seed=5), plan="enterprise", ten_second_limit=1_000_000,
        search_per_second=100_000))
    clients = tmp / "clients"
    clients.mkdir()
    ac_app = ACSandbox()
    ac_app.add_account("ac-eval-5678", ACAccount("nordic", Population(600, seed=6),
                                                 requests_per_second=100_000))
    env = {"TOK_EVAL": "tok-eval-1234", "AC_EVAL": "ac-eval-5678",
           "CONNECTOR_CONFIG_DIR": str(clients),
           "CONNECTOR_STATE_URL": f"sqlite:///{tmp / 'state.db'}"}
    with Server(app_) as server, Server(ac_app) as ac_server:
        (clients / "nordic.yaml").write_text(f"""\
crm: {{kind: activecampaign, base_url: "{ac_server.url}", token_env: AC_EVAL,
      rate_limit: {{requests_per_second: 5000}}}}
rules: {RULES}
owner_fallback: {{name: Linnea Berg, email: linnea@example-agency.com}}
invite: {{enabled: false}}
notify: {{enabled: false}}
unsubscribe: {{enabled: false}}
""")
        (clients / "acme.yaml").write_text(f"""\
crm: {{kind: hubspot, base_url: "{server.url}", token_env: TOK_EVAL, plan: enterprise,
      rate_limit: {{requests_per_second: 5000}}}}
rules: {RULES}
owner_fallback: {{name: Linnea Berg, email: linnea@example-agency.com}}
invite: {{enabled: false}}
notify: {{enabled: false}}
unsubscribe: {{enabled: false}}
""")
        (clients / "empty.yaml").write_text((clients / "acme.yaml").read_text())
        with pytest.MonkeyPatch.context() as mp:
            for key, value in env.items():
                mp.setenv(key, value)
            for name in ("acme", "nordic"):
                result = runner.invoke(app, ["sync", "--client", name])
                assert result.exit_code == 0, result.output
            yield tmp, mp


def evaluate(*args: str, client: str = "acme"):
    result = runner.invoke(app, ["evaluate", "--client", client, *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_backtest_prints_tiers_lift_auc_threshold_and_separating_rules(synced):
    out = evaluate("--horizon", "30d")
    assert "became customers by 2026-11-01" in out
    for expected in ("AUC", "lift of the top 10 %", "precision at warm", "recall at warm",
                     "best threshold (f1)", "conversion per tier", "advice:",
                     "rules that separate customers", "Looked at pricing"):
        assert expected in out, expected
    assert "never fired: job-application" in out


def test_activecampaign_won_deals_are_the_ground_truth(synced):
    out = evaluate("--horizon", "30d", client="nordic")
    first = out.splitlines()[0]
    assert first.startswith("nordic: ") and "became customers by 2026-11-01" in first
    buyers = int(first.split("; ")[1].split(" became")[0].replace(",", ""))
    assert buyers > 10
    auc_line = next(line for line in out.splitlines() if line.startswith("│ AUC"))
    assert float(auc_line.split("│")[2]) > 0.6


def test_what_if_compares_two_models_side_by_side(synced):
    tmp, _ = synced
    other = tmp / "strict.yaml"
    other.write_text(RULES.read_text().replace("warm_at: 30", "warm_at: 45")
                     .replace("name: default", "name: strict", 1))
    out = evaluate("--rules", str(other))
    assert "current (default)" in out and "what-if (strict.yaml)" in out
    header = next(line for line in out.splitlines() if "warm threshold" in line)
    assert "30" in header and "45" in header


def test_learned_weights_are_reported_and_exported_as_rules(synced):
    tmp, _ = synced
    target = tmp / "learned.yaml"
    out = evaluate("--export-learned", str(target))
    assert "held-out AUC current" in out and "learned rules" in out
    assert "verdict:" in out
    learned = load_rules(target)
    assert learned.name == "default-learned"
    assert runner.invoke(app, ["rules", "check", str(target)]).exit_code == 0


def test_bad_options_are_clear(synced):
    result = runner.invoke(app, ["evaluate", "--client", "acme", "--objective", "revenue"])
    assert result.exit_code == 2 and "use f1 or youden" in result.output
    result = runner.invoke(app, ["evaluate", "--client", "acme", "--as-of", "2027-01-01"])
    assert result.exit_code == 2 and "--as-of" in result.output
    result = runner.invoke(app, ["evaluate", "--client", "empty"])
    assert result.exit_code == 2 and "run `connector sync --client empty` first" in result.output


def test_html_report_renders_offline_in_headless_chromium(synced):
    if CHROMIUM is None:
        if os.environ.get("CONNECTOR_REQUIRE_BROWSER"):
            pytest.fail("Chromium is required here (CONNECTOR_REQUIRE_BROWSER) but not found")
        pytest.skip("no Chromium on this machine (apt install chromium)")
    playwright = pytest.importorskip("playwright.sync_api")
    tmp, _ = synced
    report = tmp / "report.html"
    evaluate("--learn", "--rules", str(RULES), "--html", str(report))
    html = report.read_text()
    assert "http://" not in html and "https://" not in html.replace(
        "https://www.example-agency.com", "")  # only the contacts' own page URLs
    failed, external, errors = [], [], []
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1000, "height": 1400})
        page.on("requestfailed", lambda r: failed.append(r.url))
        page.on("pageerror", lambda e: errors.append(str(e)))

        def guard(route):
            if route.request.url.startswith("file:"):
                route.continue_()
            else:
                external.append(route.request.url)
                route.abort()

        page.route("**/*", guard)
        response = page.goto(report.as_uri(), wait_until="load")
        assert response is not None and response.ok
        chart = page.locator("#tier-chart")
        assert chart.is_visible()
        box = chart.locator("svg").bounding_box()
        assert box is not None and box["width"] > 300 and box["height"] > 150
        # one bar per tier per model (current and what-if), some of them tall
        bars = chart.locator("rect.bar")
        assert bars.count() == 8
        heights = [float(bars.nth(i).get_attribute("height") or 0) for i in range(8)]
        assert max(heights) > 100
        assert page.locator(".lead").count() == 10
        assert page.locator("#learned").is_visible()
        shot = Path(os.environ.get("CONNECTOR_SCREENSHOT_DIR", tmp)) / "evaluation-report.png"
        page.screenshot(path=str(shot), full_page=False)
        browser.close()
    assert failed == [] and external == [] and errors == []
    assert shot.stat().st_size > 20_000
