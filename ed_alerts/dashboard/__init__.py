"""The ICB dashboard's numbers, without HTTP: aggregation (metrics), small-number suppression
(suppression), the published tables (tables), bar-chart geometry for server-rendered SVG (charts) and
the CSV export (export). Nothing here selects or returns a name, NHS number, date of birth, address or
free text. The pages are in ed_alerts/web/dashboard.py; docs/web.md describes the measures.
"""
