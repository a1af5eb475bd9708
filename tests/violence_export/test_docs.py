"""docs/violence-export.md says what the export holds: its field list and category tables must be the
code's, so that adding a field or a category without documenting it fails here."""

from __future__ import annotations

import re
from pathlib import Path

from ed_alerts.violence_export.codes import NOT_KNOWN, IstvCodes
from ed_alerts.violence_export.serialise import CSV_HEADER

DOC = Path(__file__).resolve().parents[2] / "docs" / "violence-export.md"


def _section(title: str) -> str:
    return DOC.read_text(encoding="utf-8").split(title, 1)[1].split("\n#", 1)[0]


def _first_column(section: str) -> list[str]:
    rows = [line.split("|")[1] for line in section.splitlines() if line.startswith("| `")]
    return [name for cell in rows for name in re.findall(r"`(\w+)`", cell)]


def test_the_documented_fields_are_the_exported_columns_in_order() -> None:
    assert _first_column(_section("## The fields")) == list(CSV_HEADER)


def test_the_documented_categories_are_the_code_maps(codes: IstvCodes) -> None:
    methods = [c.value for c in codes.method.code_map.categories] + [NOT_KNOWN]
    places = [c.value for c in codes.location.code_map.categories] + [NOT_KNOWN]
    assert _first_column(_section("### Assault method categories")) == methods
    assert _first_column(_section("### Assault location type categories")) == places
