"""FHIR R4 inbound adapter: Bundles and lone Encounters in, `ed_alerts.domain.InboundEvent`s out.

Validation uses the fhir.resources R4B models (R4 for the resources read here). Conventions a
sender needs (the source-type tag, the conveyance code) are in README.md in this folder.
Modules: decoding (bytes to JSON), validation (R4B models, readable errors), keys (dedupe key),
references (resolving references), patient / encounter / clinical (mapping), assemble (events),
parse (entry points), outcome (OperationOutcome), codes (code systems and conventions).
"""

from .assemble import ParsedFhirEvent
from .codes import CONVEYANCE_SYSTEM, SOURCE_TYPE_SYSTEM
from .keys import bundle_dedupe_key
from .outcome import operation_outcome, outcome_for_rejection
from .parse import parse_bundle, parse_encounter, parse_message
from .rejection import FhirMessageRejected

__all__ = [
    "CONVEYANCE_SYSTEM",
    "FhirMessageRejected",
    "ParsedFhirEvent",
    "SOURCE_TYPE_SYSTEM",
    "bundle_dedupe_key",
    "operation_outcome",
    "outcome_for_rejection",
    "parse_bundle",
    "parse_encounter",
    "parse_message",
]
