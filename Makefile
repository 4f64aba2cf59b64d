# Two commands on a fresh machine: `make demo` and `make test`. Everything installs itself into .venv.
#
# .venv follows $(PYTHON): when the Python it was built with is not the one $(PYTHON) names (another version),
# it is built again. An install that fails removes .venv, so the next run starts clean.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FUNCTION ?= examples/background_tasks
ARCH ?= x86_64
PYTHON_VERSION ?= 3.13
STAMP := $(VENV)/.installed
MIN_PYTHON := 3.10
# What goes into the new .venv (tests/test_makefile.py swaps it for `true` / `false` to spare a minute of pip).
INSTALL_DEPS = $(BIN)/pip install --quiet --upgrade pip && $(BIN)/pip install --quiet -e '.[dev]'

# "3.11.7", or nothing when the interpreter is missing. Two starts of a Python per `make`: ~30 ms.
version = $(shell $(1) -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])' 2>/dev/null)
WANT_VERSION := $(call version,$(PYTHON))
HAVE_VERSION := $(if $(wildcard $(STAMP)),$(call version,$(BIN)/python))
ifneq ($(WANT_VERSION),$(HAVE_VERSION))
# Phony: remade on every run while the versions differ, whatever the timestamps say.
.PHONY: $(STAMP)
endif

.PHONY: install test lint typecheck unit audit docs demo bench bench-quick package layer dist clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < ($(subst .,$(comma),$(MIN_PYTHON))))' 2>/dev/null || { \
		echo "make: PYTHON=$(PYTHON) is $(or $(WANT_VERSION),not found); lambda_runtime needs Python $(MIN_PYTHON) or later: run e.g. 'make $(or $(MAKECMDGOALS),install) PYTHON=python3.12'" >&2; \
		exit 1; }
	@if [ -n "$(HAVE_VERSION)" ] && [ "$(HAVE_VERSION)" != "$(WANT_VERSION)" ]; then \
		echo "make: .venv has Python $(HAVE_VERSION), PYTHON=$(PYTHON) is $(WANT_VERSION): building it again"; fi
	rm -rf $(VENV)
	@# Any failure removes the half-made .venv: otherwise the next run would trust it.
	$(PYTHON) -m venv $(VENV) && { $(INSTALL_DEPS); } && touch $(STAMP) || { \
		rm -rf $(VENV); echo "make: install failed (see above); .venv removed, so the next run starts clean" >&2; exit 1; }

comma := ,

lint: install
	$(BIN)/ruff check lambda_runtime tests benchmarks examples deploy
	$(BIN)/ruff format --check lambda_runtime tests benchmarks examples deploy

typecheck: install
	$(BIN)/mypy --strict lambda_runtime deploy

unit: install
	$(BIN)/pytest -q

audit: install
	$(BIN)/python .ci/audit.py

test: lint typecheck audit docs unit

# The documentation site (docs/, mkdocs.yml) into site/; --strict: a broken link, a missing anchor or a page left out
# of the nav fails the build. NO_MKDOCS_2_WARNING silences Material's banner about its successor.
docs: install
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

demo: install
	$(BIN)/python examples/demo.py

bench: install
	$(BIN)/python -m benchmarks

bench-quick: install
	$(BIN)/python -m benchmarks --quick

package: install
	$(BIN)/python deploy/package.py $(FUNCTION) --arch $(ARCH) --python-version $(PYTHON_VERSION)

layer: install
	$(BIN)/python deploy/package.py --layer --arch $(ARCH) --python-version $(PYTHON_VERSION)

dist: install
	$(BIN)/python -m build --outdir dist .

clean:
	rm -rf $(VENV) build dist site *.egg-info .mypy_cache .ruff_cache .pytest_cache
