"""Property-based bad input at volume: broken HL7 v2 and broken FHIR JSON through the real pipeline.

Never a crash, always an acknowledgement (AA, or AE/AR with a reason), always kept. The number of
examples is small for CI; `ED_ALERTS_FUZZ_EXAMPLES=2000 make test PYTEST_ARGS=tests/fuzz` runs longer.
"""

from __future__ import annotations

import json
import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ed_alerts.ingest.acks import hl7_ack
from ed_alerts.ingest.models import ContentType, InboundMessage, MessageStatus, Transport
from ed_alerts.ingest.pipeline import IngestContext, IngestOutcome, ingest
from ed_alerts.synthetic import Generator, adt
from integrations import hl7v2
from integrations.fhir_r4 import operation_outcome
from tests.conftest import DATA

EXAMPLES = int(os.environ.get("ED_ALERTS_FUZZ_EXAMPLES", "40"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=not os.environ.get("ED_ALERTS_FUZZ_RANDOM"),
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

_gen = Generator(seed=501)
VALID = adt(_gen.visit(_gen.child(age=15), "RGT01", kind="group_assault"), "A04", control_id="FUZZ-BASE")
VALID_FHIR = (DATA / "fhir" / "synthetic_Bundle-transaction_ED_EMER_icd10_X99.json").read_bytes()


def _msa(ack: bytes) -> list[bytes]:
    seg = next(s for s in ack.split(b"\r") if s.startswith(b"MSA|"))
    return seg.split(b"|")


def _check_kept(ctx: IngestContext, raw: bytes, out: IngestOutcome) -> None:
    assert out.status in {MessageStatus.PROCESSED, MessageStatus.QUARANTINED}
    with ctx.db.session() as s:
        msg = s.get_one(InboundMessage, out.message_id)
        assert msg.status == out.status
        if not out.duplicate:
            assert msg.raw == raw
    if out.status is MessageStatus.QUARANTINED:
        assert out.ack_code in {"AE", "AR"} and out.reason


def _check_hl7(ctx: IngestContext, raw: bytes) -> None:
    out = ingest(ctx, raw, ContentType.HL7V2, Transport.MLLP)
    _check_kept(ctx, raw, out)
    ack = hl7_ack(hl7v2.peek_header(raw), out)
    assert ack.startswith(b"MSH|")
    assert _msa(ack)[1].decode() == ("AA" if out.accepted else out.ack_code)


def _mutations() -> st.SearchStrategy[bytes]:
    cut = st.integers(min_value=0, max_value=len(VALID)).map(lambda i: VALID[:i])
    swap = st.sampled_from([b"|", b"^", b"~", b"\\", b"&", b"\r", b"\n"]).flatmap(
        lambda old: st.sampled_from([b"#", b"", b"\x00", b"|", b"\n", b"\xff"]).map(
            lambda new: VALID.replace(old, new)))
    insert = st.tuples(st.integers(0, len(VALID)), st.binary(min_size=1, max_size=40)).map(
        lambda t: VALID[:t[0]] + t[1] + VALID[t[0]:])
    huge = st.integers(min_value=10_000, max_value=200_000).map(
        lambda n: VALID.replace(b"Pt says", b"Pt says " + b"x" * n))
    version = st.sampled_from([b"2.1", b"2.2", b"2.6", b"3.0", b"", b"two", b"2.5.1.9"]).map(
        lambda v: VALID.replace(b"|2.4|", b"|" + v + b"|"))
    dates = st.text(alphabet="0123456789-+:. TZ", max_size=20).map(
        lambda d: VALID.replace(b"20", d.encode(), 1))
    nhs = st.text(alphabet="0123456789 X", min_size=0, max_size=14).map(
        lambda n: VALID.replace(b"^^^NHS^NH", n.encode() + b"^^^NHS^NH", 1))
    framing = st.sampled_from([b"\x0b", b"\x1c\r", b"\x0b\x0b", b"\x1c"]).map(lambda f: f + VALID + f)
    return st.one_of(cut, swap, insert, huge, version, dates, nhs, framing)


@FUZZ
@given(raw=st.binary(max_size=2000))
def test_random_bytes_are_refused_and_kept(ctx: IngestContext, raw: bytes) -> None:
    _check_hl7(ctx, raw)


@FUZZ
@given(raw=_mutations())
def test_broken_hl7_is_acknowledged_and_kept(ctx: IngestContext, raw: bytes) -> None:
    _check_hl7(ctx, raw)


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)


def _fhir_mutations() -> st.SearchStrategy[bytes]:
    doc = json.loads(VALID_FHIR.decode("utf-8-sig"))
    keys = sorted(doc)

    def drop(key: str) -> bytes:
        return json.dumps({k: v for k, v in doc.items() if k != key}).encode()

    def replace(pair: tuple[str, object]) -> bytes:
        return json.dumps({**doc, pair[0]: pair[1]}).encode()

    return st.one_of(
        st.sampled_from(keys).map(drop),
        st.tuples(st.sampled_from(keys), _json).map(replace),
        st.integers(0, len(VALID_FHIR)).map(lambda i: VALID_FHIR[:i]),
        _json.map(lambda v: json.dumps(v).encode()),
        st.binary(max_size=500),
    )


@FUZZ
@given(raw=_fhir_mutations())
def test_broken_fhir_is_answered_and_kept(ctx: IngestContext, raw: bytes) -> None:
    out = ingest(ctx, raw, ContentType.FHIR_BUNDLE, Transport.HTTP)
    _check_kept(ctx, raw, out)
    if not out.accepted:
        outcome = operation_outcome(out.reason or "rejected")
        from fhir.resources.R4B.operationoutcome import OperationOutcome

        OperationOutcome.model_validate(outcome)
