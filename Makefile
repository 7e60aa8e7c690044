# The commands the README gives. Each installs what it needs (virtualenv, packages, Pulumi CLI).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
ENSURE_PULUMI := scripts/ensure-pulumi

.PHONY: help venv lint unit integration e2e acceptance test demo bench dist clean

help:
	@echo "make demo   - the main job: emulator + pulumi up / update / destroy of examples/stream_environment"
	@echo "make test   - lint, then the whole test suite (unit, integration, e2e with the real Pulumi CLI)"
	@echo "make bench  - benchmarks, each printing its ratio"
	@echo "make lint   - ruff and mypy"
	@echo "make dist   - build the sdist and wheel into dist/"
	@echo "make acceptance - live tests against ZEGO's test environment (ZEGO_ACC=1 and credentials)"

$(INSTALLED): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $@

venv: $(INSTALLED)

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

unit: venv
	$(VENV)/bin/pytest tests/unit

integration: venv
	$(VENV)/bin/pytest tests/integration

e2e: venv
	bin=$$($(ENSURE_PULUMI)) && PATH="$$bin:$$PATH" ZEGO_REQUIRE_E2E=1 $(VENV)/bin/pytest tests/e2e

test: lint
	bin=$$($(ENSURE_PULUMI)) && PATH="$$bin:$$PATH" ZEGO_REQUIRE_E2E=1 $(VENV)/bin/pytest tests

demo: venv
	bin=$$($(ENSURE_PULUMI)) && PATH="$$bin:$$PATH" $(PY) -m tests.support.demo

acceptance: venv
	bin=$$($(ENSURE_PULUMI)) && PATH="$$bin:$$PATH" $(VENV)/bin/pytest -rs tests/acceptance

dist: venv
	rm -rf dist
	$(PY) -m build --no-isolation --sdist --wheel -o dist .

bench: venv
	bin=$$($(ENSURE_PULUMI)) && PATH="$$bin:$$PATH" $(PY) -m benchmarks

clean:
	rm -rf $(VENV) .tools .demo build dist *.egg-info
