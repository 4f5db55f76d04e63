"""Validation errors into messages for people: the file, the line, the field and the
fix, never a pasted secret."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import yaml
from pydantic import ValidationError

from connector.config.fields import PATTERN_TEXT
from connector.config.secrets import looks_like_secret
from connector.errors import ClientConfigError


def bad_name(exc: ValidationError) -> bool:
    return any(tuple(e.get("loc", ())) == ("name",) for e in exc.errors())


def name_from_file(path: Path) -> ClientConfigError:
    """The file has no ``name:``, so the client is named after the file, and the file
    name is not a usable client name: say so, and suggest one."""
    folded = unicodedata.normalize("NFKD", path.stem.lower().translate(_FOLD))
    ascii_name = "".join(c for c in folded if not unicodedata.combining(c))
    suggestion = re.sub(r"-{2,}", "-", re.sub(r"[^a-z0-9_-]", "-", ascii_name)).strip("-_")
    suggestion = suggestion or "my-client"
    return ClientConfigError(
        f"the file has no name: field, so the client is named after the file "
        f"({path.stem!r}), and a client name may only use lower-case letters a-z, digits, "
        f"'-' and '_'", file=str(path), field="file name",
        fix=f"rename the file to {suggestion}{path.suffix}, or add the line "
            f"name: {suggestion} to it")


_FOLD = str.maketrans({"ø": "o", "æ": "ae", "å": "a", "œ": "oe", "ß": "ss", "ð": "d",
                       "þ": "th", "ł": "l", "đ": "d", " ": "-", ".": "-"})


def translate(exc: ValidationError, path: Path, node: yaml.Node | None) -> ClientConfigError:
    err = exc.errors()[0]
    loc = tuple(p for p in err.get("loc", ()) if not str(p).startswith("function-"))
    # a token pasted where a key belongs is never echoed either
    dotted = ".".join("<something that looks like a token>" if looks_like_secret(str(p))
                      else str(p) for p in loc) or "(top level)"
    message = err.get("msg", "invalid").removeprefix("Value error, ")
    message, _, fix = message.partition("; fix: ")
    pattern = (err.get("ctx") or {}).get("pattern")
    if err.get("type") == "string_pattern_mismatch" and pattern in PATTERN_TEXT:
        value = str(err.get("input"))
        what, fix = PATTERN_TEXT[pattern]
        shown = "the value" if looks_like_secret(value) else repr(value)
        message = f"{shown} {what}"
    if not fix:
        fix = {"missing": f"add {dotted}", "extra_forbidden":
               f"remove or rename {dotted!r} (see config/clients/acme-hubspot.yaml)",
               "literal_error": "use one of the values listed"}.get(
                   err.get("type", ""), "see config/clients/acme-hubspot.yaml")
    return ClientConfigError(message, file=str(path), field=where(node, loc) + dotted, fix=fix)


def where(node: yaml.Node | None, loc: tuple) -> str:
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            found = next(((k, v) for k, v in node.value if k.value == part), None)
            if found is None:
                break
            line, node = found[0].start_mark.line + 1, found[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and \
                part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return f"line {line}: " if line else ""
