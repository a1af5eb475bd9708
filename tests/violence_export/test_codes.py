"""The export's code lists: the shipped maps load, and a broken one is refused with its file and field."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ed_alerts.evaluation import DEFAULT_RULES_DIR, load_pack
from ed_alerts.violence_export.codes import CodeMapError, IstvCodes, load_code_map

ISTV = DEFAULT_RULES_DIR / "istv"


def test_the_shipped_maps_and_questions_load(codes: IstvCodes) -> None:
    methods = [c.value for c in codes.method.code_map.categories]
    assert methods[:2] == ["firearm", "knife_or_sharp_object"]  # the precedence the docs describe
    assert "street" in [c.value for c in codes.location.code_map.categories]
    assert {"outside", "school", "gates", "on"} <= codes.description_words  # "on" is not YAML's true


def test_the_code_lists_are_in_the_rule_pack_and_checked_with_it() -> None:
    pack = load_pack()
    for valueset_id in ("assault-method-questions", "assault-location-questions",
                        "assault-location-description-questions", "assault-time-questions"):
        assert pack.valuesets[valueset_id].system.value == "local"


def _copy_maps(tmp_path: Path) -> Path:
    folder = tmp_path / "istv"
    shutil.copytree(ISTV, folder)
    return folder


def test_a_bad_icd10_code_names_the_file_and_the_field(tmp_path: Path) -> None:
    folder = _copy_maps(tmp_path)
    path = folder / "assault-method.yaml"
    path.write_text(path.read_text().replace("{code: Y00,", "{code: Y0O,"), encoding="utf-8")
    with pytest.raises(CodeMapError) as caught:
        load_code_map(path)
    assert "assault-method.yaml" in caught.value.reason and "categories[3].icd10" in caught.value.reason
    assert caught.value.status_code == 500


def test_a_description_word_must_be_one_lower_case_word(tmp_path: Path) -> None:
    folder = _copy_maps(tmp_path)
    path = folder / "assault-location-type.yaml"
    path.write_text(path.read_text().replace("public, place,", "public, Mill Road,"), encoding="utf-8")
    with pytest.raises(CodeMapError, match="description_words"):
        load_code_map(path)


def test_not_known_is_not_a_category_to_list(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text("id: m\nelement: E\ntitle: T\nsource: S\ncategories:\n  - {value: not_known, label: X}\n",
                    encoding="utf-8")
    with pytest.raises(CodeMapError, match="not_known"):
        load_code_map(path)


def test_a_missing_map_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CodeMapError, match="cannot be read"):
        IstvCodes.load(load_pack(), tmp_path)
