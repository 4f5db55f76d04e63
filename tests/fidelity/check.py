"""Fidelity of the sandboxes, checked by tools we did not write (run by .ci/run):

1. schemathesis (pinned) runs the vendors' OpenAPI documents (the subsets in specs/, the
   operations of operations.py) against both sandboxes: a fixed number of examples per
   operation, loopback only; every answer must be no 5xx and match the document's schema
   (and, for HubSpot, whose documents have a default response, a documented status);
2. a maintained third-party client per CRM (Singer taps, pinned, each in its own virtual
   environment) reads contacts and engagement from the sandboxes.

Prints the counts and exits non-zero on any schema violation, any 5xx, or a client that
reads nothing. Usage (from the repository root, with the project's virtual environment):

    .venv/bin/python tests/fidelity/check.py [--venvs DIR] [--max-examples N]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import sandboxes  # noqa: E402

# One virtual environment each, pinned: the taps pin their own dependencies, which clash
# with each other and with the project's.
PINS: dict[str, list[str]] = {
    "schemathesis": ["schemathesis==4.32.5"],
    "tap-activecampaign": ["tap-activecampaign==1.3.1"],
    "tap-hubspot": ["tap-hubspot==4.5.0"],
}
# path parameters the generated requests use: records that exist in the seeded sandboxes
ST_CONFIG = """
[parameters]
"path.contactId" = "1"
"path.id" = "1"
"path.propertyName" = "email"
"path.groupName" = "contactinformation"
"path.companyId" = "9001"
"path.objectId" = "1"

[[operations]]
include-path = "/crm/v4/objects/companies/{objectId}/associations/contacts"
parameters = { "path.objectId" = "9001" }

[[operations]]
include-path = "/crm/v3/properties/companies/{propertyName}"
parameters = { "path.propertyName" = "name" }

[[operations]]
include-path = "/crm/v3/properties/companies/groups/{groupName}"
parameters = { "path.groupName" = "companyinformation" }
"""
CHECKS = "not_a_server_error,response_schema_conformance"
START_DATE = "2026-01-01T00:00:00Z"  # the seeded engagement is of 2026 (population.py)


def venv(root: Path, name: str) -> Path:
    """The virtual environment ``name`` under ``root``, created and installed once per
    pin set (a marker file holds the pins it was built with)."""
    path = root / name
    marker = path / "fidelity-pins.txt"
    wanted = "\n".join(PINS[name])
    if not (marker.exists() and marker.read_text() == wanted):
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(path)], check=True)
        installed = subprocess.run(
            [str(path / "bin" / "pip"), "install", "-q", "--disable-pip-version-check",
             *PINS[name]], capture_output=True, text=True)
        if installed.returncode != 0:
            print(installed.stdout[-3000:], installed.stderr[-3000:], sep="\n")
            raise SystemExit(f"fidelity: could not install {' '.join(PINS[name])}")
        marker.write_text(wanted)
    return path / "bin"


# -- schemathesis ---------------------------------------------------------------------------
def schemathesis(bin_dir: Path, running: sandboxes.Running, work: Path,
                 max_examples: int) -> dict[str, int]:
    """Run every spec subset; return the counts over all of them."""
    config = work / "schemathesis.toml"
    config.write_text(ST_CONFIG)
    runs = [(HERE / "specs" / "activecampaign.json", f"{running.ac.url}/api/3",
             f"Api-Token: {sandboxes.AC_TOKEN}", CHECKS)]
    for spec in sorted((HERE / "specs").glob("hubspot-*.json")):
        runs.append((spec, running.hubspot.url, f"Authorization: Bearer {sandboxes.HUBSPOT_TOKEN}",
                     CHECKS + ",status_code_conformance"))
    totals: Counter[str] = Counter()
    for spec, url, header, checks in runs:
        reports = work / f"report-{spec.stem}"
        result = subprocess.run(
            [str(bin_dir / "st"), "--config-file", str(config), "run", str(spec), "--url", url,
             "-H", header, "--checks", checks, "--max-examples", str(max_examples),
             "--phases", "examples,coverage,fuzzing", "--workers", "1", "--seed", "21",
             "--request-timeout", "30", "--report", "ndjson", "--report-dir", str(reports),
             "--no-color"], cwd=work, capture_output=True, text=True, timeout=300)
        report = next(reports.glob("*.ndjson"), None)
        counts = _count(report) if report else Counter({"failed_checks": 1})
        totals.update(counts)
        print(f"  {spec.name}: {counts['operations']} operations "
              f"({counts['answered_2xx']} answered 2xx), {counts['examples']} examples, "
              f"{counts['schema_violations']} schema violations, {counts['server_errors']} "
              f"5xx, {counts['failed_checks']} failed checks")
        for key in sorted(k for k in counts if k.startswith("only_4xx:")):
            print(f"    no 2xx (success answer unchecked): {key.split(':', 1)[1]}")
        if result.returncode != 0 or counts["failed_checks"]:
            totals["failed_runs"] += 1
            print(result.stdout[-6000:], result.stderr[-2000:], sep="\n")
    return dict(totals)


def _count(ndjson: Path) -> Counter[str]:
    """Operations, examples (requests sent), 5xx answers, failed checks and schema
    violations in one schemathesis report; ``only_4xx:<operation>`` for an operation no
    example got a 2xx from (its documented success answer went unchecked)."""
    operations: set[str] = set()
    succeeded: set[str] = set()
    counts: Counter[str] = Counter()
    for line in ndjson.read_text().splitlines():
        event = json.loads(line)
        recorder = (event.get("ScenarioFinished") or {}).get("recorder") or {}
        if not recorder.get("interactions"):
            continue
        operations.add(recorder["label"])
        for interaction in recorder["interactions"].values():
            counts["examples"] += 1
            status = (interaction.get("response") or {}).get("status_code") or 0
            counts["server_errors"] += status >= 500
            if 200 <= status < 300:
                succeeded.add(recorder["label"])
        for checks in recorder.get("checks", {}).values():
            for check in checks:
                if check["status"] != "failure":
                    continue
                counts["failed_checks"] += 1
                counts["schema_violations"] += check["name"] == "response_schema_conformance"
    counts["operations"] = len(operations)
    counts["answered_2xx"] = len(succeeded)
    for label in sorted(operations - succeeded):
        counts[f"only_4xx:{label}"] = 1
    return counts


# -- third-party clients --------------------------------------------------------------------
def _singer(bin_dir: Path, launcher: str, config: dict[str, Any], work: Path, name: str,
            selected: tuple[str, ...]) -> Counter[str]:
    """Discover, select ``selected`` streams, sync; the records read, by stream."""
    config_path = work / f"{name}-config.json"
    config_path.write_text(json.dumps(config))
    command = [str(bin_dir / "python"), str(HERE / launcher), "--config", str(config_path)]
    found = subprocess.run([*command, "--discover"], capture_output=True, text=True,
                           timeout=300)
    if found.returncode != 0:
        print(found.stderr[-4000:])
        raise SystemExit(f"{name}: discovery failed")
    catalog = json.loads(found.stdout)
    streams = [s for s in catalog["streams"] if s["tap_stream_id"] in selected]
    for stream in streams:
        for entry in stream["metadata"]:
            if entry["breadcrumb"] == [] or entry["metadata"].get("inclusion") != "unsupported":
                entry["metadata"]["selected"] = True
    catalog["streams"] = streams
    catalog_path = work / f"{name}-catalog.json"
    catalog_path.write_text(json.dumps(catalog))
    flag = "--properties" if name == "tap-hubspot" else "--catalog"
    synced = subprocess.run([*command, flag, str(catalog_path)], capture_output=True,
                            text=True, timeout=600)
    if synced.returncode != 0:
        print(synced.stderr[-4000:])
        raise SystemExit(f"{name}: sync failed")
    records: Counter[str] = Counter()
    for line in synced.stdout.splitlines():
        message = json.loads(line)
        if message.get("type") == "RECORD":
            records[message["stream"]] += 1
    return records


def clients(venvs: Path, running: sandboxes.Running, work: Path) -> dict[str, Counter[str]]:
    ac = _singer(venv(venvs, "tap-activecampaign"), "tap_activecampaign_loopback.py", {
        "api_url": running.ac.url, "api_token": sandboxes.AC_TOKEN, "start_date": START_DATE,
        "user_agent": "connector-fidelity"}, work, "tap-activecampaign",
        ("contacts", "activities"))
    hubspot = _singer(venv(venvs, "tap-hubspot"), "tap_hubspot_loopback.py", {
        "api_key": sandboxes.HUBSPOT_TOKEN, "start_date": START_DATE,
        "base_url": running.hubspot.url,
        # one email-events window for the whole period (milliseconds)
        "email_chunk_size": 400 * 86_400_000}, work, "tap-hubspot",
        ("contacts", "email_events", "owners"))
    return {"tap-activecampaign 1.3.1": ac, "tap-hubspot 4.5.0": hubspot}


# the streams each client must read records from: contacts and their engagement
MUST_READ = {"tap-activecampaign 1.3.1": ("contacts", "activities"),
             "tap-hubspot 4.5.0": ("contacts", "email_events")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--venvs", type=Path, default=Path(".venv-fidelity"),
                        help="where the tools' virtual environments live (kept between runs)")
    parser.add_argument("--max-examples", type=int, default=10,
                        help="examples per operation in schemathesis' fuzzing phase")
    args = parser.parse_args()
    started = time.monotonic()
    bins = {name: venv(args.venvs.resolve(), name) for name in PINS}
    print(f"fidelity: tools ready in {time.monotonic() - started:.0f} s "
          f"({', '.join(p for pins in PINS.values() for p in pins)})")
    running = sandboxes.start()
    failed = False
    try:
        with tempfile.TemporaryDirectory(prefix="fidelity-") as tmp:
            work = Path(tmp)
            print("fidelity: schemathesis 4.32.5 against the vendors' OpenAPI documents")
            totals = schemathesis(bins["schemathesis"], running, work, args.max_examples)
            print(f"fidelity: schemathesis: {totals.get('operations', 0)} operations checked "
                  f"({totals.get('answered_2xx', 0)} answered 2xx), "
                  f"{totals.get('examples', 0)} examples, "
                  f"{totals.get('schema_violations', 0)} schema violations, "
                  f"{totals.get('server_errors', 0)} 5xx")
            failed = bool(totals.get("schema_violations") or totals.get("server_errors")
                          or totals.get("failed_checks") or totals.get("failed_runs"))
            for name, records in clients(args.venvs.resolve(), running, work).items():
                read = ", ".join(f"{n} {stream}" for stream, n in sorted(records.items()))
                print(f"fidelity: {name} read {sum(records.values())} records ({read})")
                failed = failed or not all(records[s] for s in MUST_READ[name])
    finally:
        running.stop()
    print(f"fidelity: {'FAILED' if failed else 'ok'} in {time.monotonic() - started:.0f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
