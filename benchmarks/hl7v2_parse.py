"""Times parse_message against hl7apy's and python-hl7's full parse on the same 1.5 KB UK ED ADT^A04.

Run: .venv/bin/python benchmarks/hl7v2_parse.py [FILE]
"""
import statistics
import sys
import time
from pathlib import Path

import hl7
from hl7apy.parser import parse_message as hl7apy_parse

from integrations.hl7v2 import build_ack, parse_message, peek_header, warm_up

raw = Path(sys.argv[1] if len(sys.argv) > 1 else "tests/data/hl7v2/synthetic_ADT_A04_v24_ED_assault.hl7").read_bytes()
text = raw.decode("utf-8")


def bench(label, fn, n=2000):
    for _ in range(50):
        fn()
    samples = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1000)
    samples.sort()
    print(f"{label:38s} median {statistics.median(samples):7.3f} ms   p95 {samples[int(n * .95)]:7.3f} ms")


print(f"message: {len(raw)} bytes")
t = time.perf_counter()
warm_up()
print(f"warm_up (hl7apy structure tables, once): {(time.perf_counter() - t) * 1000:.1f} ms")
bench("integrations.hl7v2.parse_message", lambda: parse_message(raw))
bench("integrations.hl7v2.peek_header", lambda: peek_header(raw))
header = parse_message(raw).header
bench("integrations.hl7v2.build_ack AE", lambda: build_ack(header, "AE", text="x", error_code="102", error_location="PID-7"))
bench("python-hl7 hl7.parse", lambda: hl7.parse(text))
bench("hl7apy parse_message (find_groups)", lambda: hl7apy_parse(text.replace("\n", "\r")), n=100)
