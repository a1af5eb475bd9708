"""Review tool for the NLP rule folder: measure a labelled corpus, or explain one note.

python -m ed_alerts.evaluation.text --rules rules/nlp tests/data/corpora/unsafe_disclosure_dev.jsonl
python -m ed_alerts.evaluation.text --rules rules/nlp --text "pt says they're gonna get him"
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ed_alerts.evaluation.errors import RulePackError
from ed_alerts.evaluation.text.corpus import evaluate_corpus, format_report
from ed_alerts.evaluation.text.detector import DisclosureDetector


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ed_alerts.evaluation.text", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--rules", type=Path, default=Path("rules/nlp"), help="NLP rule folder (default rules/nlp)"
    )
    parser.add_argument("--text", action="append", default=[], help="explain the findings for this note")
    parser.add_argument(
        "--no-model",
        action="store_true",
        help="rules alone, whatever settings.yaml says of the sentence model",
    )
    parser.add_argument("corpora", nargs="*", type=Path, help="labelled JSONL corpora to measure")
    args = parser.parse_args(argv)
    try:
        detector = DisclosureDetector.from_folder(args.rules, model=False if args.no_model else None)
    except RulePackError as err:
        print(f"rule folder refused: {err}", file=sys.stderr)
        return 2
    for text in args.text:
        print(text)
        findings = detector.detect(text)
        for f in findings:
            verdict = f.excluded_reason or "COUNTS"
            flags = " uncertain" * f.uncertain + " relayed" * f.third_party_report
            print(f"  [{f.start}:{f.end}] {f.concept} {f.matched_text!r} -> {verdict}{flags}")
            for cue in f.cues:
                print(f"      cue {cue}")
        if not findings:
            print("  no phrase matched")
    for corpus in args.corpora:
        print(f"== {corpus}")
        print(format_report(evaluate_corpus(detector, corpus)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
