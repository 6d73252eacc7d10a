# The two commands a newcomer needs: `make demo` and `make test`. Both set up everything.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint install clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "error: $(PYTHON) not found (Python 3.11 is required)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/convtrack demo

test: $(STAMP)
	bash .ci/ensure-mariadb
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check domain infrastructure bootstrap tests

clean:
	rm -rf $(VENV) var reports .pytest_cache
