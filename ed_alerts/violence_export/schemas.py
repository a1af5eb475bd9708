"""The violence export as data: one `AssaultRow` per assault attendance, inside a `ViolenceExport`.

A row has no field that could hold a name, an identifier, a date of birth, an address or clinical
free text, and refuses extra fields, so nothing can be added to it by accident: a new field means
changing this model, docs/violence-export.md and the test that compares the two.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

DATA_SET = "Information Sharing to Tackle Violence Minimum Data Set (ISB 1594)"

AgeBand = Literal["0-4", "5-9", "10-14", "15-17", "not known"]
Sex = Literal["male", "female", "other", "not known"]
Weapon = Literal["yes", "no", "not known"]
_CATEGORY = r"^[a-z][a-z0-9_]*$"
_HH_MM = r"^([01]\d|2[0-3]):[0-5]\d$"


class AssaultRow(BaseModel):
    """One assault attendance, in the ISB 1594 ASSAULT group's order, then the partnership's extras."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    site_code: str = Field(description="SITE CODE (OF TREATMENT): the site as the feed names it")
    arrival_date: date = Field(description="ARRIVAL DATE (AT ACCIDENT AND EMERGENCY DEPARTMENT), local")
    arrival_time: str = Field(pattern=_HH_MM, description="ARRIVAL TIME, local, hh:mm")
    assault_date: date | None = Field(description="ASSAULT DATE, local; empty when the feed does not say")
    assault_time: str | None = Field(pattern=_HH_MM, description="ASSAULT TIME, local, hh:mm; empty when not said")
    assault_method: str = Field(pattern=_CATEGORY, description="ASSAULT METHOD category (rules/istv)")
    assault_method_other_description: str | None = Field(
        description="ASSAULT METHOD OTHER DESCRIPTION: our code list's words, only when the method is other")
    assault_location_type: str = Field(pattern=_CATEGORY,
                                       description="ASSAULT LOCATION TYPE category (rules/istv)")
    assault_location_description: str | None = Field(
        description="ASSAULT LOCATION DESCRIPTION: place words only, from a structured answer")
    number_of_assailants: int | None = Field(ge=1, le=99, description="extra: as recorded; empty when not")
    weapon: Weapon = Field(description="extra: whether a weapon was involved")
    age_band: AgeBand = Field(description="extra: age at arrival, in bands; never the birth date")
    sex: Sex = Field(description="extra: as recorded")


class ViolenceExport(BaseModel):
    """The ISB 1594 submission header (reporting period) and its assaults. The site is on each row,
    as one export covers every site; the JSON form is this model, the CSV repeats the period."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    data_set: str = DATA_SET
    reporting_period_start: date
    reporting_period_end: date
    time_zone: str = Field(description="the zone every date and time in the rows is in")
    generated_at: datetime
    assaults: list[AssaultRow]
