# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test install bench fuzz clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/ed-alerts db upgrade
	$(BIN)/ed-alerts demo

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py $(BENCH_ARGS)

# The property-based tests at length: broken HL7 v2 / FHIR through the pipeline (tests/fuzz) and
# schemathesis against the OpenAPI document (tests/api). `make test` runs both small.
FUZZ_EXAMPLES ?= 200
fuzz: $(STAMP)
	ED_ALERTS_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/python -m pytest tests/fuzz tests/api $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) *.egg-info
