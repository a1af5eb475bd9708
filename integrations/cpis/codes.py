"""Systems, codes and header names of the CP-IS FHIR R4 API, in one place (see README.md for sources)."""

from __future__ import annotations

NHS_NUMBER_SYSTEM = "https://fhir.nhs.uk/Id/nhs-number"
ODS_ORGANISATION_SYSTEM = "https://fhir.nhs.uk/Id/ods-organization-code"
SNOMED = "http://snomed.info/sct"

# NHS England ValueSet England-ChildProtectionPlan (1.0.0), bound to CareTeam.category: SNOMED CT.
CHILD_PROTECTION_PLAN_VALUESET = "https://fhir.nhs.uk/England/ValueSet/England-ChildProtectionPlan"
SCT_CHILD_PROTECTION_PLAN = "342191000000101"  # Subject to child protection plan
SCT_LOOKED_AFTER = "764841000000100"  # Looked after child
SCT_UNBORN_CHILD_PROTECTION_PLAN = "818901000000100"  # Unborn child subject to child protection plan

# The HL7 V3 era plan types (CodeSystem CPIS-ObservationType, carried as CarePlan.category in the
# first FHIR drafts). Still recognised, whatever system they come with, in case a producer sends them.
LEGACY_PLAN_TYPE_SYSTEMS = (
    "https://fhir.nhs.uk/R4/CodeSystem/CPIS-ObservationType",
    "https://fhir.nhs.uk/R4/ValueSet/CPIS-PlanType",
)
LEGACY_CHILD_PROTECTION_PLAN = "CPPI"
LEGACY_LOOKED_AFTER = "LACI"
LEGACY_UNBORN_CHILD_PROTECTION_PLAN = "UCPI"

# Request headers. TraceID and IsUnscheduledAccessEvent are CP-IS's own; X-Request-ID and
# X-Correlation-ID are the NHS England API platform's; NHSD-ASID and NHSD-End-User-Organisation-ODS
# are sent only when configured (how the live service wants them is to be confirmed at onboarding).
HEADER_ACCESS_EVENT = "IsUnscheduledAccessEvent"
HEADER_TRACE_ID = "TraceID"
HEADER_REQUEST_ID = "X-Request-ID"
HEADER_CORRELATION_ID = "X-Correlation-ID"
HEADER_ASID = "NHSD-ASID"
HEADER_ODS = "NHSD-End-User-Organisation-ODS"

SEARCH_PARAMETER = "patient:identifier"
CARE_TEAM_PATH = "/CareTeam"
FHIR_JSON = "application/fhir+json"

# Spine error codes CP-IS answers in OperationOutcome.issue.details.coding.code.
ERROR_INVALID_SEARCH_DATA = "INVALID_SEARCH_DATA"  # 400: invalid NHS number
ERROR_PRECONDITION_FAILED = "PRECONDITION_FAILED"  # 400: missing or invalid header
ERROR_ACCESS_DENIED = "ACCESS_DENIED"  # 403
SPINE_ERROR_SYSTEM = "https://fhir.nhs.uk/CodeSystem/Spine-ErrorOrWarningCode"
