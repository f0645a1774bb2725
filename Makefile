# One place for every developer command; README.md and CONTRIBUTING.md explain them.

# $(call python_of,X.Y): the path of Python X.Y, on the PATH or kept by pyenv (whose shim
# may refuse a version that is not its global one); the path may not exist.
python_of = $(shell python$(1) -c 'import sys; print(sys.executable)' 2>/dev/null \
              || echo "$$(pyenv prefix $(1) 2>/dev/null)/bin/python$(1)")
# $(call venv,PYTHON,DIR,PIP ARGUMENTS): a fresh virtualenv with up-to-date installers.
define venv
	$(1) -m venv --clear $(2)
	$(2)/bin/pip install -q --disable-pip-version-check --upgrade pip setuptools wheel
	$(2)/bin/pip install -q --disable-pip-version-check $(3)
endef

# Python 3.12 where there is one (its eager tasks make a gRPC call cheaper); else
# python3, 3.11 or newer.
PYTHON ?= $(or $(wildcard $(call python_of,3.12)),python3)
VENV   ?= .venv
BIN    := $(VENV)/bin
# The oldest Python micro supports, for the kernel's own tests (test-py311).
PYTHON311 := $(wildcard $(call python_of,3.11))
VENV311   := .cache/venv-py311
# The kernel first, then every plugin and component distribution in the monorepo.
DISTS  := . $(sort $(dir $(wildcard plugins/*/setup.cfg components/*/setup.cfg)))

.PHONY: install run servers test test-py311 lint check bench bench-quick clean

$(VENV)/.installed: requirements-dev.txt setup.cfg $(wildcard plugins/*/setup.cfg components/*/setup.cfg)
	$(call venv,$(PYTHON),$(VENV),-r requirements-dev.txt $(addprefix -e ,$(DISTS)))
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
ifneq ($(PYTHON311),)
$(VENV311)/.installed: requirements-dev.txt setup.cfg
	$(call venv,$(PYTHON311),$(VENV311),-r requirements-dev.txt -e .)
	touch $@

test-py311: $(VENV311)/.installed  ## the kernel's tests on Python 3.11, when the machine has it
	$(VENV311)/bin/python -m pytest tests
else
test-py311:
	@echo "test-py311: no Python 3.11 here, the kernel's 3.11 run is left out"
endif

bench: install servers  ## the full benchmark run (under 10 minutes), writes benchmarks/RESULTS.md
	$(BIN)/python -m benchmarks

bench-quick: install servers  ## the one-minute benchmark run CI reports
	$(BIN)/python -m benchmarks --quick

clean:
	rm -rf $(VENV) build *.egg-info
