"""One adapter per external system. Each maps to or from `ed_alerts.domain` and knows nothing of
HTTP routes or database tables."""
