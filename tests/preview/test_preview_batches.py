"""`connector rules preview` reads the stored contacts in batches and keeps only counts and
the changes it lists (issue 25, item 5): its figures are those of the whole account, its
lists the first ``--top`` of the full ones; on SQLite and PostgreSQL. The flat memory at
1M contacts is measured by ``python -m benchmarks --only preview`` (README)."""

from __future__ import annotations

import io
import json

import pytest
from rich.console import Console
from typer.testing import CliRunner

from connector.cli import _load_commands, app
from connector.config import ClientConfig
from connector.preview.compare import _guard, preview
from connector.preview.result import GUARD, Change, ModelInfo, Preview
from connector.preview.state import people_from_store
from connector.preview.text import renderables
from connector.sandbox import stored_state as bench
from connector.scoring import load_rules, load_rules_text
from connector.store import open_store
from connector.sync.model_change import ModelChange, model_hash

N = 600
runner = CliRunner()
_load_commands()


@pytest.fixture
def filled(store_url):
    at = bench.fill(store_url, N, chunk=250)
    return store_url, at


def client(**extra: object) -> ClientConfig:
    return ClientConfig.model_validate({
        "name": bench.CLIENT, "crm": {"kind": "hubspot", "base_url": "http://127.0.0.1:9",
                                      "token_env": "BENCH_TOKEN"},
        "rules": str(bench.RULES), "owner_fallback": {"name": "A B", "email": "a@b.co"},
        **extra})


def both(url, at, conf, keep):
    store = open_store(url)
    new_text = bench.new_rules_text()
    return preview(people_from_store(store, bench.CLIENT), load_rules(bench.RULES),
                   load_rules_text(new_text), at, conf, keep=keep,
                   model_change=ModelChange(store, bench.CLIENT, model_hash(new_text)))


@pytest.mark.parametrize("extra", [
    {},  # everything sent
    {"on_model_change": "act", "guard": {"max_invites_per_run": 3, "min_unsubscribes": 1}},
])
def test_a_bounded_preview_counts_the_whole_account_and_lists_the_first(filled, extra):
    url, at = filled
    conf = client(**extra)
    full = both(url, at, conf, keep=None)
    kept = both(url, at, conf, keep=4)
    assert full.contacts == kept.contacts == N
    # every list is longer than what is kept: the bound is what is tested
    assert min(len(full.turn_warm), len(full.hit_floor), len(full.leave_warm)) > 4
    whole, bounded = full.as_dict(), kept.as_dict()
    for name in ("turn_warm", "hit_floor", "leave_warm"):
        assert bounded.pop(name) == whole.pop(name)[:4]
        assert kept.counts[name] == len(getattr(full, name))
    assert bounded == whole  # counts, outcome per kind, held reasons, histograms
    if extra:
        assert whole["actions"]["invite"]["held_guard"] == len(full.invites) > 3
    assert printed(kept) == printed(full)


def test_the_page_reads_and_one_score_per_model_change_nothing(filled):
    """The preview reads a page of contacts with their events in two queries and scores a
    contact once per model, reusing the current model's transitions where the stored model
    is the same: the same preview as reading every stored column a contact at a time and
    scoring with the stored model again."""
    url, at = filled
    store = open_store(url)
    new_text = bench.new_rules_text()

    def full_reads():
        for chunk in store.iter_contacts(bench.CLIENT):
            events = store.get_events(bench.CLIENT, [s.contact_id for s in chunk])
            for stored in chunk:
                yield stored, events.get(stored.contact_id, [])

    class Rescoring(ModelChange):  # scores with the stored model every time
        def caused_by_change(self, *args, known=None):
            return super().caused_by_change(*args)

    slow = preview(full_reads(), load_rules(bench.RULES), load_rules_text(new_text), at,
                   client(), model_change=Rescoring(store, bench.CLIENT, model_hash(new_text)))
    fast = both(url, at, client(), keep=None)
    assert slow.outcome()["invite"]["held_model_change"] > 0  # the stored model judged
    assert fast.as_dict() == slow.as_dict()
    assert printed(fast) == printed(slow)


def printed(p) -> str:
    console = Console(file=io.StringIO(), width=200)
    for part in renderables(p, 4):
        console.print(part)
    return console.file.getvalue()


def test_the_command_lists_top_changes_of_all_and_json_lists_them_all(filled, tmp_path,
                                                                       monkeypatch):
    """Also: contacts whose CRM owner state does not name yet (no invite went out) are
    previewed (the planner names the CRM in its owner warning; it failed before)."""
    url, at = filled
    clients = tmp_path / "clients"
    clients.mkdir()
    (clients / "bench.yaml").write_text(bench.client_yaml())
    new = tmp_path / "new.yaml"
    new.write_text(bench.new_rules_text())
    monkeypatch.setenv("CONNECTOR_STATE_URL", url)
    monkeypatch.setenv("COLUMNS", "200")
    args = ["rules", "preview", str(new), "--client", bench.CLIENT, "--config-dir",
            str(clients), "--now", at.isoformat()]
    as_json = runner.invoke(app, [*args, "--json"])
    assert as_json.exit_code == 0, as_json.output
    data = json.loads(as_json.output)
    html = tmp_path / "p.html"
    text = runner.invoke(app, [*args, "--top", "3", "--html", str(html)])
    assert text.exit_code == 0, text.output
    warm = data["turn_warm"]
    assert len(warm) > 3 and data["contacts"] == N
    assert f"would turn warm: {len(warm):,}" in text.output
    assert f"and {len(warm) - 3:,} more (--top, --json or --html for all)" in text.output
    assert warm[0]["name"] in text.output
    page = html.read_text()
    assert f"Would turn warm and get an invite ({len(warm)})" in page
    assert page.count('<tr class="change">') == sum(
        len(data[k]) for k in ("turn_warm", "hit_floor", "leave_warm"))


def test_the_guard_holds_the_invites_not_kept_too():
    """The run guard counts every invite, not only those kept, and holds them all."""
    conf = client(guard={"max_invites_per_run": 3})
    m = ModelInfo("m", "m", 30, -30)
    p = Preview(client="bench", now=None, current=m, new=m, keep=2)  # type: ignore[arg-type]
    for i in range(5):
        p.add("turn_warm", Change(str(i), f"n{i}", None, None, "o", 0, 40 + i, "cold", "warm",
                                  (), ("invite",), False))
    p._trim("turn_warm")
    _guard(p, conf)
    assert [c.contact_id for c in p.turn_warm] == ["4", "3"]
    assert all(c.held == GUARD for c in p.turn_warm)
    assert p.outcome()["invite"] == {"planned": 5, "held_model_change": 0, "held_guard": 5,
                                     "sent": 0}
