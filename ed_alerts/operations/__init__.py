"""Operations endpoints: liveness (`/healthz`), readiness (`/readyz`) and Prometheus metrics (`/metrics`).

Modules: ingest_metrics (counters and timings fed by the ingest pipeline's observer hook),
db_gauges (figures read from the database at scrape time), metrics (one registry per service),
readiness (the checks behind /readyz), router (the HTTP routes, thin).

No metric carries a patient identifier: labels are feed (a registered site code, or "unregistered"),
transport, rule and status.
"""
