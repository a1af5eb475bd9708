"""Turn a request body into a JSON object, or reject it with a reason that says where it went wrong."""

from __future__ import annotations

import json
from typing import Any, NoReturn

from .rejection import unusable

UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def strip_bom(raw: bytes) -> bytes:
    # Windows tools (and the Microsoft FHIR server's own test files) write a UTF-8 BOM; JSON forbids it,
    # but it carries no meaning, so it is safe to drop.
    return raw[len(UTF8_BOM):] if raw.startswith(UTF8_BOM) else raw


def decode_json_object(raw: bytes) -> dict[str, Any]:
    """The body as a JSON object. Raises FhirMessageRejected for anything else."""
    body = strip_bom(bytes(raw))
    if not body.strip():
        raise unusable("empty body: expected a FHIR R4 JSON resource")
    if body.startswith(_UTF16_BOMS):
        raise unusable("body is UTF-16 (it starts with a UTF-16 byte order mark): FHIR JSON must be UTF-8")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise unusable(f"body is not UTF-8 text (invalid byte at offset {exc.start}): "
                       "expected a FHIR R4 JSON resource") from None
    try:
        data = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise unusable(f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    except RecursionError:
        raise unusable("invalid JSON: nested too deeply") from None
    if not isinstance(data, dict):
        raise unusable(f"expected a JSON object (a FHIR resource), got a JSON {_json_kind(data)}")
    return data


def _reject_constant(name: str) -> NoReturn:
    # Python's json accepts NaN and Infinity; JSON and FHIR do not.
    raise unusable(f"invalid JSON: {name} is not a JSON number")


def _json_kind(value: Any) -> str:
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    if value is None:
        return "null"
    return "number"
