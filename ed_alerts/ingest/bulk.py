"""Bulk ingest of files: the same pipeline and deduplication as the live feeds, with a progress bar."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from ed_alerts.ingest.models import ContentType, MessageStatus, Transport
from ed_alerts.ingest.pipeline import IngestContext, ingest
from integrations.mllp import split_file


@dataclass
class BulkSummary:
    files: int = 0
    processed: int = 0
    duplicate: int = 0
    quarantined: int = 0
    errors: list[str] = field(default_factory=list)


def _fhir_kind(data: bytes) -> ContentType:
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return ContentType.FHIR_BUNDLE  # the adapter will reject it with the exact reason
    if isinstance(doc, dict) and doc.get("resourceType") == "Encounter":
        return ContentType.FHIR_ENCOUNTER
    return ContentType.FHIR_BUNDLE


def messages_in(data: bytes) -> list[tuple[ContentType, bytes]]:
    """The messages a file holds: one FHIR JSON document, or one or many HL7 v2 messages."""
    if data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"{", b"["):
        return [(_fhir_kind(data), data)]
    return [(ContentType.HL7V2, m) for m in split_file(data)]


def _files(paths: Iterable[Path]) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith(".")))
        else:
            found.append(path)
    return found


def ingest_paths(ctx: IngestContext, paths: Iterable[Path], *, progress: bool = False) -> BulkSummary:
    summary = BulkSummary()
    batch: list[tuple[Path, tuple[ContentType, bytes]]] = []
    for path in _files(paths):
        summary.files += 1
        found = messages_in(path.read_bytes())
        if not found:
            summary.errors.append(f"{path.name}: no message found in the file")
        batch.extend((path, m) for m in found)
    for path, (content_type, raw) in tqdm(batch, disable=not progress, unit="msg", desc="ingest"):
        outcome = ingest(ctx, raw, content_type, Transport.FILE)
        if outcome.duplicate:
            summary.duplicate += 1
        elif outcome.status is MessageStatus.PROCESSED:
            summary.processed += 1
        else:
            summary.quarantined += 1
            summary.errors.append(f"{path.name}: message {outcome.message_id}: {outcome.reason}")
    return summary
