# Two commands on a fresh machine: `make demo` runs the main job, `make test` the tests.
# Each creates the virtual environment it needs (.venv) from pyproject.toml.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

# Passive OpenMP threads: spinning ones that lose a core to another job stall every step.
demo: $(STAMP)
	OMP_WAIT_POLICY=PASSIVE $(BIN)/archsearch demo --workers 2

# One process per core, one thread each: the tests are many small jobs, not one big one;
# an idle process takes work queued for the other (worksteal), so neither waits at the end.
test: $(STAMP)
	$(BIN)/ruff check archsearch baselines experiments tests
	OMP_NUM_THREADS=1 $(BIN)/python -m pytest -q -n auto --dist worksteal --durations=10

lint: $(STAMP)
	$(BIN)/ruff check archsearch baselines experiments tests
	$(BIN)/ruff format --check archsearch baselines experiments tests

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
