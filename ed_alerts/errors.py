"""Domain errors. Each carries the HTTP status it maps to; one handler renders them."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status_code = 400

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

    def body(self) -> dict[str, Any]:
        """The JSON the one handler renders; subclasses add machine-readable detail."""
        return {"detail": self.reason}


class MessageRejected(DomainError):
    """An inbound message that cannot be accepted as it is.

    `ack_code` is the HL7 acknowledgement to answer with: AR when the message itself is unusable
    (not HL7, wrong version, unknown event), AE when it is HL7 but its content is wrong.
    `hl7_error_code` is an HL7 table 0357 code (100 segment sequence, 101 required field missing,
    102 data type error, 200 unsupported message type, 201 unsupported event, 203 unsupported version,
    207 application internal error).
    """

    status_code = 422

    def __init__(self, reason: str, *, ack_code: str = "AE", hl7_error_code: str = "207",
                 location: str | None = None) -> None:
        super().__init__(reason)
        self.ack_code = ack_code
        self.hl7_error_code = hl7_error_code
        self.location = location


class MessageTooLarge(MessageRejected):
    status_code = 413

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"message of {size} bytes exceeds the limit of {limit} bytes",
                         ack_code="AR", hl7_error_code="207")


class NotFound(DomainError):
    status_code = 404


class Forbidden(DomainError):
    status_code = 403


class Conflict(DomainError):
    """The request is valid but the record's current state does not allow it."""

    status_code = 409
