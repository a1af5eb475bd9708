"""The violence export contains no identifier (issue 6, item 3).

Assault attendances are ingested through the real pipeline (HL7 v2 and FHIR) with distinctive names,
NHS numbers, MRNs, visit numbers, addresses, full postcodes, dates of birth, phone numbers and free
text, in every place a feed puts them (PID, NK1, PV1, PV2, OBX text, NTE, Patient, Encounter,
Condition notes, and location answers that name a person or give an address). The export is then
taken as CSV and as JSON: none of those strings may appear, while the assault rows do.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from fastapi.testclient import TestClient

from ed_alerts.services import Services
from ed_alerts.synthetic import Child
from tests.violence_export.seed import FHIR_ISTV, HL7_ISTV, assault_visit, send, send_file

# What the seeded messages say about the children, their families and the people who hurt them.
IDENTIFYING = [
    # tests/data/hl7v2/synthetic_ADT_A04_v24_ED_assault_istv.hl7
    "Zebedee", "Quixotically", "Ptolemy", "Marigold", "9994172360", "999 417 2360", "MRNZQ448812",
    "VZQ-2026-55501", "ISTV0001", "27 Wobblewick Lane", "Wobblewick", "CB4 7QZ", "CB4", "7QZ",
    "07700 900777", "07700 900778", "20110504", "2011-05-04", "Xanthippe", "Vorbeck", "Gryphon Arms",
    "Ossian", "Flintwhistle", "Thistlebury", "02/02/2009", "cut him",
    # tests/data/fhir/synthetic_Bundle-transaction_ED_assault_istv.json
    "Wilhelmina", "Zonderkop", "9995820617", "MRNWZ771903", "ENC-WZ-30917", "Quagmire Close", "Quagmire",
    "EX99 4QQ", "EX99", "4QQ", "2010-02-11", "Ignatius", "Bellwether", "moped", "Burns to face", "kitchen",
    # the message built below
    "Peregrine", "Umbridgeworth", "Honoria", "9997304489", "MRNPU550672", "VPU-77120", "PE27 9XW", "PE27",
    "9XW", "2013-08-19", "20130819", "Barnaby", "Crookshank", "Mulberry", "07700 900999", "CAD-20260120-8841",
    "cricket",
]


def _third_child(services: Services) -> None:
    kid = Child(family="Umbridgeworth", given="Peregrine", birth_date=date(2013, 8, 19), nhs="9997304489",
                mrn="MRNPU550672", postcode="PE27 9XW", sex="M")
    visit = assault_visit(
        "VPU-77120", datetime(2026, 1, 20, 16, 45, tzinfo=UTC), site="RGT02", kid=kid,
        reason="Assaulted by Barnaby Crookshank outside his flat",
        diagnoses=[("Y00", "Assault by blunt object", "I10"), ("S52.5", "Fracture of radius", "I10")],
        observations=[
            ("ST", "ASSAULT_METHOD", "Assault method", "Crookshank's cricket bat"),
            ("ST", "ASSAULT_LOCATION_TYPE", "Assault location type", "14 Mulberry Gardens"),
            ("ST", "ASSAULT_LOCATION", "Where the assault happened", "outside Crookshank's flat"),
            ("TS", "ASSAULT_DATETIME", "When the assault happened", "20260120161000"),
            ("TX", "TRIAGE", "Triage note", ("Peregrine reports that Barnaby Crookshank hit him near "
                                             "14 Mulberry Gardens PE27 9XW; phone 07700 900999")),
            ("ST", "POLICE", "Police reference", "CAD-20260120-8841"),
        ],
        notes=["Mum Honoria Umbridgeworth informed; she says Barnaby has a cricket bat."])
    send(services, visit, "PU-0001")


def _leaks(text: str) -> list[str]:
    lowered = text.lower()
    return [s for s in IDENTIFYING if s.lower() in lowered]


def test_the_violence_export_contains_no_identifier(client: TestClient, services: Services,
                                                   make_user: Callable[..., Any],
                                                   auth_headers: Callable[[Any], dict[str, str]]) -> None:
    send_file(services, HL7_ISTV)
    send_file(services, FHIR_ISTV)
    _third_child(services)
    headers = auth_headers(make_user("icb_lead"))
    period = {"from": "2026-01-01", "to": "2026-01-31"}

    csv_text = client.get("/api/violence-export", params={**period, "format": "csv"}, headers=headers).text
    json_text = client.get("/api/violence-export", params={**period, "format": "json"}, headers=headers).text

    # The assaults are there, one row each, with what may be shared about them...
    body = json.loads(json_text)
    rows = body["assaults"]
    assert [(r["site_code"], r["arrival_date"], r["assault_method"]) for r in rows] == [
        ("RGT01", "2026-01-10", "knife_or_sharp_object"),
        ("RGT02", "2026-01-12", "other"),
        ("RGT02", "2026-01-20", "blunt_object"),
    ]
    assert len(csv_text.strip().splitlines()) == 1 + len(rows)
    assert [r["age_band"] for r in rows] == ["10-14", "15-17", "10-14"]
    assert rows[0]["assault_location_description"] == "outside the park gates"  # a place is kept
    assert rows[2]["assault_location_description"] is None  # "outside Crookshank's flat" is not
    # ...and nothing that identifies a child, their family or anyone else.
    assert _leaks(csv_text) == []
    assert _leaks(json_text) == []
    # No long number of any kind (NHS number, MRN, phone) hides in the rows in another form.
    assert not re.search(r"\d{6,}", csv_text)
    assert not re.search(r"\d{6,}", json.dumps(rows))
    assert not {"birth_date", "name", "nhs_number", "postcode", "address", "visit_number"} & set(rows[0])
