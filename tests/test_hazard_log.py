"""The hazard log's controls keep their evidence: every test it names must exist."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOG = ROOT / "docs" / "clinical-safety" / "hazard-log.md"
REFERENCE = re.compile(r"`(tests/[\w/]+\.py)::(test_\w+)`")


def _test_functions(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)}


def test_every_test_named_in_the_hazard_log_exists() -> None:
    references = REFERENCE.findall(LOG.read_text(encoding="utf-8"))
    assert len(references) >= 30, "the hazard log should name the tests behind its controls"
    missing = [f"{file}::{name}" for file, name in references
               if not (ROOT / file).is_file() or name not in _test_functions(ROOT / file)]
    assert not missing, "tests named in docs/clinical-safety/hazard-log.md no longer exist:\n" + "\n".join(missing)


def test_every_hazard_names_at_least_one_test() -> None:
    sections = re.split(r"^## ", LOG.read_text(encoding="utf-8"), flags=re.M)[1:]
    assert len(sections) >= 8
    bare = [s.splitlines()[0] for s in sections if not REFERENCE.search(s)]
    assert not bare, f"hazards without a test: {bare}"
