"""The code systems, extensions and canonical URLs this API publishes, in one place.

`https://ed-alerts.example/` is our namespace until the service has a published home: every URL here is
an identifier, not an address anyone is expected to resolve.
"""

from __future__ import annotations

from integrations.fhir_r4.codes import NHS_NUMBER_SYSTEMS

FHIR_MEDIA_TYPE = "application/fhir+json"
FHIR_VERSION = "4.0.1"

OUR_NAMESPACE = "https://ed-alerts.example"

# Flag.category: the HL7 "safety" category every client understands, plus our narrower one.
HL7_FLAG_CATEGORY_SYSTEM = "http://terminology.hl7.org/CodeSystem/flag-category"
HL7_SAFETY_CODE = "safety"
SAFEGUARDING_CATEGORY_SYSTEM = f"{OUR_NAMESPACE}/CodeSystem/flag-category"
SAFEGUARDING_CODE = "safeguarding"
CATEGORY_CODINGS: tuple[tuple[str, str, str], ...] = (
    (HL7_FLAG_CATEGORY_SYSTEM, HL7_SAFETY_CODE, "Safety"),
    (SAFEGUARDING_CATEGORY_SYSTEM, SAFEGUARDING_CODE, "Safeguarding"),
)

# Flag.code: the rule that raised the flag.
RULE_SYSTEM = f"{OUR_NAMESPACE}/CodeSystem/rule"

EXT_RULE_VERSION = f"{OUR_NAMESPACE}/StructureDefinition/flag-rule-version"
EXT_SEVERITY = f"{OUR_NAMESPACE}/StructureDefinition/flag-severity"
EXT_UNCERTAIN = f"{OUR_NAMESPACE}/StructureDefinition/flag-uncertain"

# R4 defines no status or category search parameter for Flag (R5 does); ours are defined here.
SEARCH_PARAM_STATUS = f"{OUR_NAMESPACE}/SearchParameter/Flag-status"
SEARCH_PARAM_CATEGORY = f"{OUR_NAMESPACE}/SearchParameter/Flag-category"

# NHS number systems a caller may use (the current one, which we publish, and the DSTU2-era one).
NHS_SYSTEMS = NHS_NUMBER_SYSTEMS

AUTHOR_DISPLAY = "ed-alerts safeguarding rules"
