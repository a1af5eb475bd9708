"""FHIR R4 read API for flags: `GET /fhir/metadata`, `GET /fhir/Flag` (search), `GET /fhir/Flag/{id}`.

Modules: codes (systems and URLs we publish), dates (FHIR date search values), search (query
parameters to a `FlagSearch`, HTTP-free), queries (the `FlagSearch` against the database), mapping
(a stored flag as an R4 Flag), bundle (searchset Bundles and paging links), capability (the
CapabilityStatement), responses (FHIR JSON answers), router (the HTTP routes, thin).
"""
