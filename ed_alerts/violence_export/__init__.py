"""Anonymised assault data for the community safety partnership: the Information Sharing to Tackle
Violence minimum data set (ISB 1594, the Cardiff Model), one row per assault attendance, no patient
identifiers.

One job per module: `period` (the reporting period asked for), `selection` (which attendances are
assault attendances), `codes` (the ISTV code maps in rules/istv and the question value sets),
`places` (what a location description may say), `mapping` (one attendance to one row), `schemas`
(the row and the export), `serialise` (CSV and JSON), `service` (build and audit an export) and
`router` (GET /api/violence-export, ICB lead only). docs/violence-export.md lists every field and
where it comes from in the feeds.
"""
