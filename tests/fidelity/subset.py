"""Rebuild the committed spec subsets (specs/*.json) from their sources: only the
operations of operations.py, with the components they reference. Run by hand when the
list changes (CI reads the committed files):

    python tests/fidelity/subset.py ../shared/specs/activecampaign-v3.openapi.json \
        /path/to/HubSpot-public-api-spec-collection
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from operations import (
    AC_SOURCE,
    ACTIVECAMPAIGN,
    HUBSPOT,
    HUBSPOT_COMMIT,
    HUBSPOT_OBJECT_TYPES,
    HUBSPOT_PATCHES,
    HUBSPOT_REPO,
)

SPECS = Path(__file__).resolve().parent / "specs"
REF = re.compile(r'"\$ref":\s*"#/components/([^/"]+)/([^"]+)"')


def _refs(node: Any) -> set[tuple[str, str]]:
    return set(REF.findall(json.dumps(node)))


def subset(spec: dict[str, Any], ops: list[tuple[str, str]], source: str,
           fix: dict[str, str] | None = None) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for method, path in ops:
        item = spec["paths"][path]
        op = json.loads(json.dumps(item[method.lower()]))
        shared = item.get("parameters") or []
        params = shared + (op.get("parameters") or [])
        target = path
        for name, value in (fix or {}).items():
            target = target.replace("{" + name + "}", value)
            params = [p for p in params if not (p.get("in") == "path" and p["name"] == name)]
        if params:
            op["parameters"] = params
        paths.setdefault(target, {})[method.lower()] = op
    out: dict[str, Any] = {k: spec[k] for k in ("openapi", "info", "servers") if k in spec}
    out["info"] = {**out["info"], "x-subset-of": source}
    if "security" in spec:
        out["security"] = spec["security"]
    out["paths"] = paths
    components = spec.get("components") or {}
    keep: dict[str, dict[str, Any]] = {}
    todo = _refs(paths) | _refs(spec.get("security"))
    while todo:
        kind, name = todo.pop()
        if name in keep.get(kind, {}):
            continue
        node = components[kind][name]
        keep.setdefault(kind, {})[name] = node
        todo |= _refs(node)
    if "securitySchemes" in components:
        keep["securitySchemes"] = components["securitySchemes"]
    out["components"] = keep
    return out


def main(ac_spec: str, hubspot_repo: str) -> None:
    SPECS.mkdir(exist_ok=True)
    ac = subset(json.loads(Path(ac_spec).read_text()), ACTIVECAMPAIGN, AC_SOURCE)
    # The document is generated from AC's reference pages, whose answers with several
    # examples became "oneOf" lists of loose objects that overlap (an empty contacts
    # page, a 422 with one error, match two of them): "oneOf" would refuse an answer for
    # matching two documented examples, so the subset reads them as "anyOf".
    ac = json.loads(json.dumps(ac).replace('"oneOf":', '"anyOf":'))
    ac["info"]["x-patched"] = ["every oneOf of a response reads as anyOf"]
    (SPECS / "activecampaign.json").write_text(json.dumps(ac, indent=1) + "\n")
    for source, ops in HUBSPOT.items():
        spec = json.loads((Path(hubspot_repo) / source).read_text())
        patches = [p for p in HUBSPOT_PATCHES if p[0] == source]
        for _, schema, where, key, value in patches:
            node = spec["components"]["schemas"][schema]
            for step in where:
                node = node[step]
            node[key] = value
        if patches:
            spec.setdefault("info", {})["x-patched"] = [
                f"components.schemas.{schema}.{'.'.join(where)}.{key} = {value!r}"
                for _, schema, where, key, value in patches]
        kinds = HUBSPOT_OBJECT_TYPES.get(source) or {"contacts": {"objectType": "contacts"}}
        for n, (kind, fix) in enumerate(kinds.items()):
            name = "hubspot-" + Path(source).stem + (f"-{kind}" if n else "") + ".json"
            (SPECS / name).write_text(json.dumps(subset(
                spec, ops, f"github.com/{HUBSPOT_REPO}/blob/{HUBSPOT_COMMIT}/{source}",
                fix=fix), indent=1) + "\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
