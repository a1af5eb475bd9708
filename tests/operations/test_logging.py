"""Logs carry message and attendance ids, never the child's identifiers: not in our own lines, not in a
database error's message, not in an access log's query string."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator

import pytest

from ed_alerts.errors import MessageRejected
from ed_alerts.ingest.models import ContentType, Transport
from ed_alerts.ingest.pipeline import IngestContext, ingest
from ed_alerts.logs import OUR_LOGGERS, DropQueryStrings, JsonFormatter, SafeFormatter, configure_logging
from ed_alerts.synthetic import Generator, adt


def _record(logger: str, msg: str, *args: object, exc: bool = False, **extra: object) -> logging.LogRecord:
    record = logging.LogRecord(logger, logging.ERROR, __file__, 1, msg, args,
                               sys.exc_info() if exc else None)
    record.__dict__.update(extra)
    return record


def test_ingest_logs_ids_and_no_identifiers(ctx: IngestContext, caplog: pytest.LogCaptureFixture) -> None:
    gen = Generator(seed=81)
    child = gen.child(age=15)
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="ed_alerts")  # a command run in-process may have set it (cli.serve)
    good = ingest(ctx, adt(gen.visit(child, "RGT01", kind="disclosure"), control_id="L1"),
                  ContentType.HL7V2, Transport.MLLP)
    bad_visit = gen.visit(child, "RGT01", kind="plain")
    bad = adt(bad_visit, "A03", control_id="L2").replace(f"|{bad_visit.visit_number}|".encode(), b"||")
    rejected = ingest(ctx, bad, ContentType.HL7V2, Transport.MLLP)
    assert good.accepted and not rejected.accepted

    processed = [r for r in caplog.records if "processed" in r.getMessage()]
    assert processed and processed[0].message_id == good.message_id
    assert processed[0].attendance_ids == good.attendance_ids
    assert any(getattr(r, "message_id", None) == rejected.message_id for r in caplog.records)
    everything = "\n".join(r.getMessage() for r in caplog.records)
    for identifier in [child.nhs, child.mrn, child.family, child.given, child.postcode, "feel safe"]:
        assert identifier and identifier not in everything


def _fail_like_the_database(number: str, name: str) -> None:
    # Source lines appear in a traceback; the values here come from the caller, as they would at runtime.
    try:
        raise ValueError(f"Key (system, value)=(nhs-number, {number}) already exists")
    except ValueError as inner:
        raise RuntimeError(f"while linking {name}") from inner


def test_exception_messages_are_withheld_but_frames_kept() -> None:
    number, name = "9434765919", "Alfie Testwood"
    try:
        _fail_like_the_database(number, name)
    except RuntimeError:
        record = _record("ed_alerts.ingest.pipeline", "message %s failed", 7, exc=True)
    text = SafeFormatter().format(record)
    assert "message 7 failed" in text and "test_logging.py" in text
    assert "builtins.ValueError" in text and "builtins.RuntimeError" in text and "direct cause" in text
    assert "9434765919" not in text and "Testwood" not in text


def test_our_own_rejection_reasons_stay_readable() -> None:
    try:
        raise MessageRejected("PV1-19 (visit number) is missing", location="PV1-19")
    except MessageRejected:
        record = _record("x", "rejected", exc=True)
    assert "PV1-19 (visit number) is missing" in SafeFormatter().format(record)


def test_json_lines_carry_the_ids_as_fields() -> None:
    record = _record("ed_alerts.ingest.pipeline", "message %s processed", 5, message_id=5, attendance_ids=[9])
    entry = json.loads(JsonFormatter().format(record))
    assert entry["message"] == "message 5 processed"
    assert entry["message_id"] == 5 and entry["attendance_ids"] == [9]


def test_access_log_query_strings_are_dropped() -> None:
    record = _record("uvicorn.access", '%s - "%s %s HTTP/%s" %d', "10.0.0.1:5000", "GET",
                     "/fhir/Flag?patient:identifier=https://fhir.nhs.uk/Id/nhs-number|9434765919", "1.1", 200)
    assert DropQueryStrings().filter(record)
    line = record.getMessage()
    assert "9434765919" not in line and "/fhir/Flag?" in line
    other = _record("ed_alerts.x", "path %s", "/a?b=c")
    DropQueryStrings().filter(other)
    assert other.getMessage() == "path /a?b=c"  # only the access log is rewritten


@pytest.fixture
def restore_logging() -> Iterator[None]:
    names = ("", *OUR_LOGGERS, "apscheduler", "httpx")
    levels = {name: logging.getLogger(name).level for name in names}
    handlers = logging.getLogger().handlers[:]
    yield
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)
    logging.getLogger().handlers[:] = handlers


def test_our_lines_at_the_configured_level_and_library_chatter_not_even_built(restore_logging: None) -> None:
    configure_logging("INFO")
    assert logging.getLogger("ed_alerts.ingest.worker").isEnabledFor(logging.INFO)
    assert logging.getLogger("integrations.mllp.server").isEnabledFor(logging.INFO)
    assert logging.getLogger("uvicorn").isEnabledFor(logging.INFO)
    # PyFastNER's per-sentence notes go to the root logger with logging.info(): dropped before a
    # record is made, where a filter would drop it only after.
    assert not logging.getLogger().isEnabledFor(logging.INFO)
    assert logging.getLogger("spacy").isEnabledFor(logging.WARNING)

    configure_logging("debug")
    assert logging.getLogger().isEnabledFor(logging.DEBUG)
    assert logging.getLogger("ed_alerts.ingest.worker").isEnabledFor(logging.DEBUG)
    configure_logging("ERROR")
    assert not logging.getLogger("ed_alerts.ingest.worker").isEnabledFor(logging.WARNING)
    assert not logging.getLogger("spacy").isEnabledFor(logging.WARNING)
    with pytest.raises(ValueError, match="unknown log level"):
        configure_logging("LOUD")
