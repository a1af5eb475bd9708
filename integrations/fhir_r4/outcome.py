"""Build FHIR R4 OperationOutcome resources to answer a rejected FHIR message with."""

from __future__ import annotations

from typing import Any

from ed_alerts.errors import MessageRejected, MessageTooLarge

ISSUE_SEVERITIES = frozenset({"fatal", "error", "warning", "information"})
# http://hl7.org/fhir/R4/valueset-issue-type.html
ISSUE_TYPES = frozenset({
    "invalid", "structure", "required", "value", "invariant", "security", "login", "unknown", "expired",
    "forbidden", "suppressed", "processing", "not-supported", "duplicate", "multiple-matches", "not-found",
    "deleted", "too-long", "code-invalid", "extension", "too-costly", "business-rule", "conflict",
    "transient", "lock-error", "no-store", "exception", "timeout", "incomplete", "throttled",
    "informational",
})


def operation_outcome(reason: str, *, code: str = "invalid", severity: str = "error",
                      expression: list[str] | None = None) -> dict[str, Any]:
    """An R4 OperationOutcome with one issue. `expression` holds FHIRPath locations of the fault."""
    if severity not in ISSUE_SEVERITIES:
        raise ValueError(f"unknown OperationOutcome severity {severity!r}")
    if code not in ISSUE_TYPES:
        raise ValueError(f"unknown OperationOutcome issue type {code!r}")
    issue: dict[str, Any] = {"severity": severity, "code": code, "diagnostics": reason}
    if expression:
        issue["expression"] = list(expression)
    return {"resourceType": "OperationOutcome", "issue": [issue]}


def outcome_for_rejection(exc: MessageRejected) -> dict[str, Any]:
    """The OperationOutcome for any MessageRejected; FhirMessageRejected adds its issue type."""
    code = "too-long" if isinstance(exc, MessageTooLarge) else getattr(exc, "issue_code", "invalid")
    expression = [exc.location] if exc.location else None
    return operation_outcome(exc.reason, code=code, expression=expression)
