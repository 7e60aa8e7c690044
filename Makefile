# The commands the README gives. Each installs what it needs (virtualenvs, packages, Pulumi CLI).
#
# The tests run on two CPythons: PYTHON, the oldest that requires-python admits (the main
# virtualenv, .venv, which every other target uses), and PYTHON_NEWEST, the newest (.venv-<name>,
# unit and integration tests only). pyproject.toml's classifiers name exactly these two.
PYTHON ?= python3.11
PYTHON_NEWEST ?= python3.13
PYTEST_WORKERS ?= 2
VENV := .venv
VENV_NEWEST := .venv-$(notdir $(PYTHON_NEWEST))
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
INSTALLED_NEWEST := $(VENV_NEWEST)/.installed
ENSURE_PULUMI := scripts/ensure-pulumi
FIND_PYTHON := scripts/find-python

.PHONY: help venv venv-newest redis lint unit integration e2e acceptance test demo bench dist docs clean

help:
	@echo "make demo   - the main job: emulator + pulumi up / update / destroy of examples/stream_environment"
	@echo "make test   - lint, then every test (unit, integration, e2e with the real Pulumi CLI) on $(PYTHON),"
	@echo "              and unit + integration on $(PYTHON_NEWEST) at the same time"
	@echo "make bench  - benchmarks, each printing its ratio"
	@echo "make lint   - ruff and mypy"
	@echo "make dist   - build the sdist and wheel into dist/"
	@echo "make docs   - write the generated tables into README.md and docs/ (settings from settings.py, ZEGO codes from errors.py)"
	@echo "make acceptance - live tests against ZEGO's test environment (ZEGO_ACC=1 and credentials)"

# make_venv DIR PYTHON: a virtualenv with the package (editable) and its dev tools.
define make_venv
	py=$$($(FIND_PYTHON) $(2)) && "$$py" -m venv $(1)
	$(1)/bin/python -m pip install --quiet --upgrade pip
	$(1)/bin/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $(1)/.installed
endef

$(INSTALLED): pyproject.toml constraints.txt
	$(call make_venv,$(VENV),$(PYTHON))

$(INSTALLED_NEWEST): pyproject.toml constraints.txt
	$(call make_venv,$(VENV_NEWEST),$(PYTHON_NEWEST))

venv: $(INSTALLED)

venv-newest: $(INSTALLED_NEWEST)

# The tests start a real redis-server on loopback; install it once where it is missing (Debian, as root).
redis:
	@command -v redis-server >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server >/dev/null; } || \
	  { echo "redis-server is missing: install it (e.g. apt-get install redis-server)" >&2; exit 1; }

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

unit: venv
	$(VENV)/bin/pytest tests/unit

integration: venv redis
	$(VENV)/bin/pytest tests/integration

e2e: venv
	bin=$$($(ENSURE_PULUMI)) && PATH="$$bin:$$PATH" ZEGO_REQUIRE_E2E=1 $(VENV)/bin/pytest tests/e2e

test: lint venv-newest redis
	bin=$$($(ENSURE_PULUMI)) && PATH="$$bin:$$PATH" ZEGO_REQUIRE_E2E=1 \
		scripts/run-tests $(VENV) $(VENV_NEWEST) -n $(PYTEST_WORKERS) --dist loadfile

demo: venv
	bin=$$($(ENSURE_PULUMI)) && PATH="$$bin:$$PATH" $(PY) -m tests.support.demo

acceptance: venv
	bin=$$($(ENSURE_PULUMI)) && PATH="$$bin:$$PATH" $(VENV)/bin/pytest -rs tests/acceptance

# The configuration table between the settings-table markers is generated from SETTINGS
# (tests/unit/test_settings.py fails when a document's copy differs), the troubleshooting
# page's code table from errors.RETURN_CODES (tests/unit/test_errors.py).
docs: venv
	$(PY) -c 'import sys; from zego_provider.settings import main; sys.exit(main(["--write", *sys.argv[1:]]))' \
		README.md $(wildcard docs/*.md docs/*/*.md)
	$(PY) -m tests.support.codes_table

dist: venv
	rm -rf dist
	$(PY) -m build --no-isolation --sdist --wheel -o dist .

bench: venv redis
	bin=$$($(ENSURE_PULUMI)) && PATH="$$bin:$$PATH" $(PY) -m benchmarks

clean:
	rm -rf $(VENV) $(VENV_NEWEST) .tools .demo build dist *.egg-info
