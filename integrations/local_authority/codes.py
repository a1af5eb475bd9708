"""Identifier and code systems used in the referral Bundle and in the authority's answer.

Our own systems live under https://ed-alerts.example/ (the same base as the inbound FHIR
conventions); an identifier in one of them is never taken for the authority's case reference.
"""

from __future__ import annotations

from ed_alerts.domain import NHS_NUMBER_SYSTEM
from integrations.fhir_r4.codes import SOURCE_TYPE_SYSTEM

OUR_SYSTEM_BASE = "https://ed-alerts.example/"
REFERRAL_ID_SYSTEM = OUR_SYSTEM_BASE + "Id/referral"
IDEMPOTENCY_KEY_SYSTEM = OUR_SYSTEM_BASE + "Id/referral-idempotency-key"
LOCAL_AUTHORITY_SYSTEM = OUR_SYSTEM_BASE + "Id/local-authority"
SITE_SYSTEM = OUR_SYSTEM_BASE + "Id/site"  # the site code as its feed knows it (MSH-4, FHIR source)
RULE_SYSTEM = OUR_SYSTEM_BASE + "CodeSystem/safeguarding-rule"
REFERRAL_TYPE_SYSTEM = OUR_SYSTEM_BASE + "CodeSystem/referral-type"
REFERRAL_FORM = OUR_SYSTEM_BASE + "fhir/Questionnaire/la-safeguarding-referral"
REFERRAL_FORM_VERSION = "1"

SNOMED_SYSTEM = "http://snomed.info/sct"
V3_ACT_CODE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
TASK_CODE_SYSTEM = "http://hl7.org/fhir/CodeSystem/task-code"

# SNOMED CT 306238000 |Referral to social services (procedure)| and, from the UK edition,
# 836881000000105 |Child is cause for safeguarding concern (finding)|: a receiving system that
# knows SNOMED can route on these; our own code says which ed-alerts referral this is.
REFERRAL_CODE = (SNOMED_SYSTEM, "306238000", "Referral to social services")
CONCERN_CODE = (SNOMED_SYSTEM, "836881000000105", "Child is cause for safeguarding concern")
OUR_REFERRAL_TYPE = (REFERRAL_TYPE_SYSTEM, "child-safeguarding", "Child safeguarding referral from emergency care")

__all__ = [
    "CONCERN_CODE", "IDEMPOTENCY_KEY_SYSTEM", "LOCAL_AUTHORITY_SYSTEM", "NHS_NUMBER_SYSTEM", "OUR_REFERRAL_TYPE",
    "OUR_SYSTEM_BASE", "REFERRAL_CODE", "REFERRAL_FORM", "REFERRAL_FORM_VERSION", "REFERRAL_ID_SYSTEM",
    "REFERRAL_TYPE_SYSTEM", "RULE_SYSTEM", "SITE_SYSTEM", "SNOMED_SYSTEM", "SOURCE_TYPE_SYSTEM",
    "TASK_CODE_SYSTEM", "V3_ACT_CODE_SYSTEM",
]
