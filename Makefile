# The commands the README gives. Each installs what it needs (virtualenv, packages, Pulumi CLI).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
ENSURE_PULUMI := scripts/ensure-pulumi

.PHONY: help venv redis lint unit integration e2e acceptance test demo bench dist clean

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

test: lint redis
	bin=$$($(ENSURE_PULUMI)) && PATH="$$bin:$$PATH" ZEGO_REQUIRE_E2E=1 $(VENV)/bin/pytest tests

demo: venv
	bin=$$($(ENSURE_PULUMI)) && PATH="$$bin:$$PATH" $(PY) scripts/demo.py

acceptance: venv
	bin=$$($(ENSURE_PULUMI)) && PATH="$$bin:$$PATH" $(VENV)/bin/pytest -rs tests/acceptance

dist: venv
	rm -rf dist
	$(PY) -m build --no-isolation --sdist --wheel -o dist .

bench: venv redis
	bin=$$($(ENSURE_PULUMI)) && PATH="$$bin:$$PATH" $(PY) -m benchmarks

clean:
	rm -rf $(VENV) .tools .demo build dist *.egg-info
