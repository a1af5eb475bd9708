"""Predicates about the child and the setting: `age_band`, `home_out_of_area`, `source_type_in`."""

from __future__ import annotations

from ed_alerts.evaluation.ages import age_in_years, arrival_date
from ed_alerts.evaluation.postcodes import in_area, outward_code
from ed_alerts.evaluation.predicates.run import Run
from ed_alerts.evaluation.results import Evidence, EvidenceKind, Match
from ed_alerts.evaluation.schema import AgeBand, HomeOutOfArea, SourceTypeIn

AGE_SOURCE = "patient birth date"


def age_unknown_evidence() -> Evidence:
    return Evidence(
        kind=EvidenceKind.AGE,
        source=AGE_SOURCE,
        description="age unknown (no usable birth date): treated as a child",
    )


def age_band(predicate: AgeBand, run: Run) -> Match:
    years = age_in_years(run.ctx.patient.birth_date, arrival_date(run.ctx.arrival))
    if years is None:
        # Same choice as the rule-level age filter: a missed child is worse than a dismissed flag.
        return Match.yes([age_unknown_evidence()])
    low = predicate.min_years if predicate.min_years is not None else 0
    high = predicate.max_years if predicate.max_years is not None else years
    if not low <= years <= high:
        return Match.no()
    return Match.yes(
        [
            Evidence(
                kind=EvidenceKind.AGE,
                source=AGE_SOURCE,
                value=str(years),
                description=f"aged {years} on arrival",
            )
        ]
    )


def home_out_of_area(predicate: HomeOutOfArea, run: Run) -> Match:
    address = run.ctx.patient.address
    district = outward_code(address.postcode if address else None)
    # An unknown postcode or a site with no configured area proves nothing about distance from home.
    if district is None or not any(a.strip() for a in run.ctx.site_area):
        return Match.no()
    if in_area(district, run.ctx.site_area):
        return Match.no()
    return Match.yes(
        [
            Evidence(
                kind=EvidenceKind.ADDRESS,
                source="patient address",
                value=district,
                description=f"home postcode district {district} is outside this site's area",
            )
        ]
    )


def source_type_in(predicate: SourceTypeIn, run: Run) -> Match:
    source = run.ctx.source_type
    if source is None or source not in predicate.sources:
        return Match.no()
    return Match.yes(
        [
            Evidence(
                kind=EvidenceKind.SOURCE,
                source="attendance source",
                value=source.value,
                description=f"seen by {source.value.replace('_', ' ')}",
            )
        ]
    )
