"""Known to children's social care: CP-IS lookups for children who register, fed to the rule pack.

When a child (under 18) with a valid NHS number registers, a pending lookup is written in the
ingest transaction (service.py); a background worker (worker.py) asks CP-IS through
`integrations/cpis` outside any ingest transaction, records the answer (models.py) and re-evaluates
the attendance, whose evaluation context now carries the answer as CP_PLAN / LOOKED_AFTER /
KNOWN_TO_CSC observations from "CP-IS" (observations.py). Off unless ED_ALERTS_CPIS_ENABLED.
"""
