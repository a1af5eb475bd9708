"""HTTP ingest through the real app: HL7 v2 answered with its ACK, FHIR with an OperationOutcome.

Requests are made as an integration user (`feed`); the attendance is read as an ED nurse of RGT01.
"""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from ed_alerts.synthetic import Generator, adt

HL7_TYPE = {"content-type": "x-application/hl7-v2+er7"}


@pytest.fixture
def feed(make_user, auth_headers) -> dict[str, str]:
    return auth_headers(make_user("integration"))


@pytest.fixture
def hl7(feed) -> dict[str, str]:
    return {**HL7_TYPE, **feed}


@pytest.fixture
def nurse(make_user, auth_headers) -> dict[str, str]:
    return auth_headers(make_user("ed_nurse", sites=["RGT01"]))


def _msa(body: bytes) -> list[str]:
    seg = next(s for s in body.replace(b"\n", b"\r").split(b"\r") if s.startswith(b"MSA|"))
    return seg.decode().split("|")


def test_post_hl7v2_answers_aa_with_the_control_id(client: TestClient, hl7, feed, nurse) -> None:
    gen = Generator(seed=21)
    raw = adt(gen.visit(gen.child(), "RGT01", kind="assault"), control_id="H1")
    res = client.post("/hl7v2", content=raw, headers=hl7)
    assert res.status_code == 200
    assert _msa(res.content)[1:3] == ["AA", "H1"]
    msg_id = int(res.headers["x-message-id"])
    listed = client.get("/api/messages", headers=feed).json()
    assert [m["id"] for m in listed] == [msg_id] and listed[0]["status"] == "processed"
    att_id = listed[0]["attendance_ids"][0]
    detail = client.get(f"/api/attendances/{att_id}", headers=nurse).json()
    assert detail["attendance"]["site_code"] == "RGT01"


def test_a_message_can_be_followed_by_its_control_id(client: TestClient, hl7, feed) -> None:
    gen = Generator(seed=22)
    for cid in ("F1", "F2", "F3"):
        raw = adt(gen.visit(gen.child(), "RGT01"), control_id=cid)
        assert client.post("/hl7v2", content=raw, headers=hl7).status_code == 200
    found = client.get("/api/messages", params={"control_id": "F2"}, headers=feed).json()
    assert [m["control_id"] for m in found] == ["F2"]
    assert client.get("/api/messages", params={"control_id": "nope"}, headers=feed).json() == []


def test_post_hl7v2_bad_message_gets_error_ack_and_is_quarantined(client: TestClient, hl7, feed) -> None:
    res = client.post("/hl7v2", content=b"MSH|^~\\&|EDIS|RGT01|X|Y|20260101||ADT^A04|BAD1|P|2.4\rPID|1",
                      headers=hl7)
    assert res.status_code == 422
    msa = _msa(res.content)
    assert msa[1] in {"AE", "AR"} and msa[2] == "BAD1"
    assert b"ERR|" in res.content
    quarantined = client.get("/api/messages", params={"status": "quarantined"}, headers=feed).json()
    assert len(quarantined) == 1 and quarantined[0]["error_reason"]


def test_post_hl7v2_binary_junk_is_refused_and_kept(client: TestClient, hl7, feed) -> None:
    res = client.post("/hl7v2", content=bytes(range(256)) * 4, headers=hl7)
    assert res.status_code == 422 and _msa(res.content)[1] == "AR"
    (row,) = client.get("/api/messages", params={"status": "quarantined"}, headers=feed).json()
    assert row["sender"] == "unknown" and row["control_id"].startswith("sha256:")


def test_post_hl7v2_oversize_is_refused_413(client: TestClient, settings, hl7, feed) -> None:
    res = client.post("/hl7v2", content=b"MSH|" + b"x" * (settings.max_message_bytes + 10), headers=hl7)
    assert res.status_code == 413 and _msa(res.content)[1] == "AR"


def test_post_fhir_invalid_json_answers_operation_outcome(client: TestClient, hl7, feed) -> None:
    res = client.post("/fhir", content=b'{"resourceType": "Bundle", "type":', headers={
        "content-type": "application/fhir+json", **feed})
    assert res.status_code == 422
    body = res.json()
    assert body["resourceType"] == "OperationOutcome"
    assert body["issue"][0]["severity"] == "error" and body["issue"][0]["diagnostics"]


def test_feed_health_reports_unregistered_sender(client: TestClient, hl7, feed) -> None:
    gen = Generator(seed=22)
    client.post("/hl7v2", content=adt(gen.visit(gen.child(), "RGT01"), control_id="A"), headers=hl7)
    client.post("/hl7v2", content=adt(gen.visit(gen.child(), "ELSEWHERE"), control_id="B"), headers=hl7)
    feeds = {f["sender"]: f for f in client.get("/api/feeds", headers=feed).json()}
    assert feeds["RGT01"]["registered"] and feeds["RGT01"]["processed"] == 1
    assert not feeds["ELSEWHERE"]["registered"] and feeds["ELSEWHERE"]["processed"] == 1


def test_replay_endpoint_processes_a_fixed_message(client: TestClient, services, hl7, feed) -> None:
    from ed_alerts.ingest.models import InboundMessage

    gen = Generator(seed=23)
    good = adt(gen.visit(gen.child(), "RGT01"), control_id="RP")
    res = client.post("/hl7v2", content=good.replace(b"|2.4|", b"|3.0|"), headers=hl7)
    msg_id = int(res.headers["x-message-id"])
    with services.db.session() as s:
        s.get_one(InboundMessage, msg_id).raw = good
    replayed = client.post(f"/api/messages/{msg_id}/replay", headers=feed).json()
    assert replayed["status"] == "processed" and replayed["attempts"] == 2
    assert client.post("/api/messages/999999/replay", headers=feed).status_code == 404


def test_unknown_attendance_is_404(client: TestClient, nurse) -> None:
    res = client.get("/api/attendances/12345", headers=nurse)
    assert res.status_code == 404 and "12345" in json.dumps(res.json())
