# Two commands on a fresh machine: `make demo` and `make test`. Everything installs itself into .venv, in two layers:
# `make demo` installs only what the demo needs (the runtime and its emulator), `make install` (and every target
# that tests, checks, benchmarks or packages) adds the `dev` extra on top.
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
DEV_STAMP := $(VENV)/.installed-dev
MIN_PYTHON := 3.10
TEST_WORKERS ?= 2
# What goes into the new .venv, then the dev layer (tests/test_makefile.py swaps them for `true` / `false` / `echo`
# to spare minutes of pip).
INSTALL_DEPS = $(BIN)/pip install --quiet --upgrade pip && $(BIN)/pip install --quiet -e '.[emulator]'
INSTALL_DEV = $(BIN)/pip install --quiet -e '.[dev]'

# "3.11.7", or nothing when the interpreter is missing. Two starts of a Python per `make`: ~30 ms.
version = $(shell $(1) -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])' 2>/dev/null)
WANT_VERSION := $(call version,$(PYTHON))
HAVE_VERSION := $(if $(wildcard $(STAMP)),$(call version,$(BIN)/python))
ifneq ($(WANT_VERSION),$(HAVE_VERSION))
# Phony: remade on every run while the versions differ, whatever the timestamps say.
.PHONY: $(STAMP)
endif

.PHONY: install install-demo test lint typecheck unit audit docs browser dist-check demo bench bench-quick package layer dist clean

install: $(DEV_STAMP)

install-demo: $(STAMP)

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

$(DEV_STAMP): $(STAMP) pyproject.toml
	{ $(INSTALL_DEV); } && touch $(DEV_STAMP) || { \
		rm -rf $(VENV); echo "make: install failed (see above); .venv removed, so the next run starts clean" >&2; exit 1; }

comma := ,

lint: install
	$(BIN)/ruff check lambda_runtime tests benchmarks examples deploy
	$(BIN)/ruff format --check lambda_runtime tests benchmarks examples deploy

typecheck: install
	$(BIN)/mypy --strict lambda_runtime deploy

# Tests that wait on processes run side by side (pytest-xdist, 2 workers on a 2-core machine); each test has its
# own ports (0) and temporary directories.
unit: install browser
	$(BIN)/pytest -q -n $(TEST_WORKERS)

# The emulator's page is tested in a real headless browser: Debian's chromium package, installed when it is missing
# and we may (root). Elsewhere the browser test is skipped on a developer's machine, and fails in CI (CI=true).
CHROMIUM := /usr/bin/chromium
browser:
	@if [ ! -x $(CHROMIUM) ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "make: installing chromium (the emulator page's browser test needs it)"; \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; \
	fi

audit: install
	$(BIN)/python .ci/audit.py

# The documentation site (docs/, mkdocs.yml) into site/; --strict: a broken link, a missing anchor or a page left out
# of the nav fails the build. NO_MKDOCS_2_WARNING silences Material's banner about its successor.
docs: install
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

dist-check: install
	$(BIN)/python .ci/check_dist.py

test: lint typecheck audit docs dist-check unit

demo: install-demo
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
