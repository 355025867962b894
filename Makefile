# Two commands set up everything on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test test-fast bench lint typecheck clean

# Re-install only when the project definition changes.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/autoabs demo

test: $(STAMP)
	$(BIN)/python -m pytest

test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow"

# Benchmarks print one JSON line or table each and exit non-zero when a target is missed.
# Machines here are shared: run them on a quiet machine, they compare within one process.
bench: $(STAMP)
	$(BIN)/python -m pytest benchmarks --benchmark-only -s
	$(BIN)/python benchmarks/collateral_speed.py
	$(BIN)/python benchmarks/waterfall_overhead.py
	$(BIN)/python benchmarks/structuring_reuse.py
	$(BIN)/python benchmarks/startup.py
	$(BIN)/python benchmarks/variance_reduction.py
	$(BIN)/python benchmarks/scaling.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
