"""The rejection this adapter raises: a MessageRejected that also knows its FHIR issue type."""

from __future__ import annotations

from ed_alerts.errors import MessageRejected


class FhirMessageRejected(MessageRejected):
    """A FHIR message that cannot be accepted.

    `issue_code` is the OperationOutcome issue type (http://hl7.org/fhir/issue-type) to answer with,
    and `location`, when set, is a FHIRPath expression for the element at fault. Reasons never quote
    patient identifiers or free text: only element paths, resource types and codes.
    """

    def __init__(self, reason: str, *, issue_code: str = "invalid", ack_code: str = "AE",
                 hl7_error_code: str = "207", location: str | None = None) -> None:
        super().__init__(reason, ack_code=ack_code, hl7_error_code=hl7_error_code, location=location)
        self.issue_code = issue_code


def unusable(reason: str, *, issue_code: str = "structure",
             hl7_error_code: str = "102") -> FhirMessageRejected:
    """The body is not a FHIR message we can read at all (AR: resending it unchanged cannot help)."""
    return FhirMessageRejected(reason, issue_code=issue_code, ack_code="AR", hl7_error_code=hl7_error_code)


def unsupported(reason: str, *, location: str | None = None) -> FhirMessageRejected:
    return FhirMessageRejected(reason, issue_code="not-supported", ack_code="AR", hl7_error_code="200",
                               location=location)


def invalid(reason: str, *, location: str | None = None, issue_code: str = "invalid",
            hl7_error_code: str = "102") -> FhirMessageRejected:
    """Readable FHIR whose content is wrong (AE)."""
    return FhirMessageRejected(reason, issue_code=issue_code, ack_code="AE", hl7_error_code=hl7_error_code,
                               location=location)
