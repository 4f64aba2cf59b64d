# Two commands on a fresh machine: `make demo` and `make test`. Everything installs itself into .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FUNCTION ?= examples/background_tasks
ARCH ?= x86_64
PYTHON_VERSION ?= 3.12
STAMP := $(VENV)/.installed

.PHONY: install test lint typecheck unit audit demo bench bench-quick package clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

lint: install
	$(BIN)/ruff check lambda_runtime tests benchmarks examples deploy
	$(BIN)/ruff format --check lambda_runtime tests benchmarks examples deploy

typecheck: install
	$(BIN)/mypy --strict lambda_runtime deploy

unit: install
	$(BIN)/pytest -q

audit: install
	$(BIN)/python .ci/audit.py

test: lint typecheck audit unit

demo: install
	$(BIN)/python examples/demo.py

bench: install
	$(BIN)/python -m benchmarks

bench-quick: install
	$(BIN)/python -m benchmarks --quick

package: install
	$(BIN)/python deploy/package.py $(FUNCTION) --arch $(ARCH) --python-version $(PYTHON_VERSION)

clean:
	rm -rf $(VENV) build dist *.egg-info .mypy_cache .ruff_cache .pytest_cache
