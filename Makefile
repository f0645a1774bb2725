# One place for every developer command; README.md and CONTRIBUTING.md explain them.
# Python 3.12 where there is one, on the PATH or kept by pyenv (its eager tasks make a
# gRPC call cheaper); else python3, 3.11 or newer.
PYTHON312 := $(shell python3.12 -c 'import sys; print(sys.executable)' 2>/dev/null \
               || echo "$$(pyenv prefix 3.12 2>/dev/null)/bin/python3.12")
PYTHON ?= $(or $(wildcard $(PYTHON312)),python3)
VENV   ?= .venv
# The oldest Python micro supports, for the kernel's own tests (test-py311).
PYTHON311 := $(shell python3.11 -c 'import sys; print(sys.executable)' 2>/dev/null \
               || echo "$$(pyenv prefix 3.11 2>/dev/null)/bin/python3.11")
VENV311 := .cache/venv-py311
BIN    := $(VENV)/bin
# The kernel first, then every plugin and component distribution in the monorepo.
DISTS  := . $(sort $(dir $(wildcard plugins/*/setup.cfg components/*/setup.cfg)))

.PHONY: install run servers test test-py311 lint check bench bench-quick clean

$(VENV)/.installed: requirements-dev.txt setup.cfg $(wildcard plugins/*/setup.cfg components/*/setup.cfg)
	$(PYTHON) -m venv --clear $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check --upgrade pip setuptools wheel
	$(BIN)/pip install -q --disable-pip-version-check -r requirements-dev.txt $(addprefix -e ,$(DISTS))
	touch $@

install: $(VENV)/.installed  ## virtualenv with every distribution installed editable

run: install  ## the main job: the greeter tour on the embedded defaults, no server needed
	$(BIN)/python examples/greeter/demo.py

servers:  ## install the real servers the tests run against (Consul, RabbitMQ, Kafka...)
	@for script in scripts/servers/*.sh; do [ -f "$$script" ] && bash "$$script" install || exit 1; done

# The typed package of every plugin and component distribution.
PACKAGES := $(filter-out %.egg-info/,$(wildcard plugins/*/micro_*/ components/*/micro_*/))

lint: install  ## style and types
	$(BIN)/ruff check --no-cache .
	$(BIN)/ruff format --check --no-cache .
	$(BIN)/mypy
	$(BIN)/mypy --strict $(PACKAGES)

test: install servers lint  ## everything CI runs: lint, types, and the whole test suite on real servers
	$(BIN)/python -m pytest
	$(MAKE) test-py311

# Python 3.11 takes other paths in the kernel (no eager tasks: see micro_core/tasks.py).
test-py311:  ## the kernel's tests on Python 3.11, when the machine has it
	@if [ ! -x "$(PYTHON311)" ]; then echo "test-py311: no Python 3.11 here, the kernel's 3.11 run is left out"; exit 0; fi; \
	set -e; \
	$(PYTHON311) -m venv --clear $(VENV311); \
	$(VENV311)/bin/pip install -q --disable-pip-version-check --upgrade pip setuptools wheel; \
	$(VENV311)/bin/pip install -q --disable-pip-version-check -r requirements-dev.txt -e .; \
	$(VENV311)/bin/python -m pytest tests

bench: install servers  ## the full benchmark run (under 10 minutes), writes benchmarks/RESULTS.md
	$(BIN)/python -m benchmarks

bench-quick: install servers  ## the one-minute benchmark run CI reports
	$(BIN)/python -m benchmarks --quick

clean:
	rm -rf $(VENV) build *.egg-info
