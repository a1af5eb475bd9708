"""Ingest: the inbound store (raw, durable, deduplicated), the processing pipeline, quarantine and replay."""
