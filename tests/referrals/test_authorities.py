"""Local authority configuration and routing: the child's home postcode first, then the site, then
the default; production refuses plain http and placeholder tokens."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ed_alerts.domain import SourceType
from ed_alerts.referrals.authorities import LocalAuthorityConfigError, LocalAuthorityRegistry
from ed_alerts.sites.registry import Site

SITE = Site(code="RGT01", name="ED", trust="RGT", source_type=SourceType.HOSPITAL_ED, local_authority="CAMBS")


def _file(tmp_path: Path, *entries: dict[str, object]) -> Path:
    path = tmp_path / "las.yaml"
    path.write_text(yaml.safe_dump({"local_authorities": list(entries)}), encoding="utf-8")
    return path


def _registry(tmp_path: Path) -> LocalAuthorityRegistry:
    return LocalAuthorityRegistry.load(_file(
        tmp_path,
        {"code": "CAMBS", "url": "https://cambs.example/fhir", "token": "t" * 40, "areas": ["CB", "PE"]},
        {"code": "PBORO", "url": "https://pboro.example/fhir", "areas": ["PE1", "PE2"]},
        {"code": "HACKNEY", "url": "https://hackney.example/fhir", "areas": ["E8"]},
    ))


def test_routes_by_the_childs_home_then_the_site_then_the_default(tmp_path: Path) -> None:
    registry = _registry(tmp_path)
    assert registry.route("CB1 2AB", SITE, None) == "CAMBS"
    assert registry.route("pe1 1aa", SITE, None) == "PBORO", "a listed district beats a whole area"
    assert registry.route("PE27 5AA", SITE, None) == "CAMBS"
    assert registry.route("E8 3QP", SITE, None) == "HACKNEY", "a child far from home: their home authority"
    assert registry.route("B12 9LL", SITE, None) == "CAMBS", "unknown area: the site's authority"
    assert registry.route(None, None, "DEFAULT") == "DEFAULT"
    assert registry.route("ZZ99 3VZ", None, None) is None  # no fixed abode says nothing about home


def test_endpoints_and_tokens(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LA_TOKEN_FOR_TEST", "s" * 40)
    registry = LocalAuthorityRegistry.load(_file(
        tmp_path, {"code": "CAMBS", "url": "https://cambs.example/fhir", "token_env": "LA_TOKEN_FOR_TEST",
                   "timeout_s": 7}))
    endpoint = registry.endpoint("cambs")
    assert endpoint is not None and endpoint.timeout_s == 7
    assert endpoint.auth_headers() == {"Authorization": f"Bearer {'s' * 40}"}
    assert "s" * 40 not in repr(endpoint)
    assert registry.knows("CAMBS") and not registry.knows("ELSEWHERE")


@pytest.mark.parametrize(("entry", "problem"), [
    ({"code": "X", "url": "https://x.example", "token_env": "NOT_SET_ANYWHERE_1234"}, "not set"),
    ({"code": "X", "url": "https://x.example", "token": "a", "token_env": "B"}, "not both"),
    ({"code": "X", "url": "ftp://x.example"}, "url"),
    ({"code": "X", "url": "https://x.example", "colour": "red"}, "colour"),
])
def test_bad_configuration_is_refused_with_the_reason(tmp_path: Path, entry: dict[str, object],
                                                      problem: str) -> None:
    with pytest.raises(LocalAuthorityConfigError, match=problem):
        LocalAuthorityRegistry.load(_file(tmp_path, entry))


def test_production_refuses_http_and_placeholder_tokens(tmp_path: Path) -> None:
    plain = _file(tmp_path, {"code": "X", "url": "http://x.example"})
    assert LocalAuthorityRegistry.load(plain).knows("X")  # development: a local fake is fine
    with pytest.raises(LocalAuthorityConfigError, match="https"):
        LocalAuthorityRegistry.load(plain, production=True)
    placeholder = _file(tmp_path, {"code": "X", "url": "https://x.example", "token": "changeme"})
    with pytest.raises(LocalAuthorityConfigError, match="placeholder"):
        LocalAuthorityRegistry.load(placeholder, production=True)


def test_the_example_file_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ED_ALERTS_LA_CAMBS_TOKEN", "c" * 40)
    monkeypatch.setenv("ED_ALERTS_LA_HACKNEY_TOKEN", "h" * 40)
    example = Path(__file__).parents[2] / "config" / "local_authorities.example.yaml"
    registry = LocalAuthorityRegistry.load(example, production=True)
    assert sorted(registry.codes) == ["CAMBS", "HACKNEY"]
