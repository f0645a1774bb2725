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
# Every plugin and component distribution of the monorepo (a directory with a setup.cfg),
# found anew on each run: a new distribution needs no line here.
PARTS  := $(patsubst %/,%,$(sort $(dir $(wildcard plugins/*/setup.cfg components/*/setup.cfg))))
# The kernel first, then the parts.
DISTS  := . $(PARTS)

.PHONY: install run servers test test-shared test-dists test-py311 lint dist check bench bench-quick clean

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

lint: install  ## style, types, the layer contracts (import-linter) and the docs site
	$(BIN)/ruff check --no-cache .
	$(BIN)/ruff format --check --no-cache .
	$(BIN)/mypy
	$(BIN)/mypy --strict $(PACKAGES)
	$(BIN)/python .ci/layers.py
	$(BIN)/mkdocs build --strict --quiet --site-dir .cache/site

# Each distribution's tests run once, in its own venv (test-dists): that venv is what
# proves its declared dependencies, and running them again in the shared venv would
# double the time CI has (30 minutes on 2 cores). The shared venv runs lint and what
# spans distributions: the benchmark smoke run and the docs' own tests.
test: install servers lint test-dists test-shared test-py311  ## everything CI runs

# Kernel tests that need plugins too (Go Micro interop through Consul, mDNS, gRPC and
# protobuf; three hosts over mutual TLS with Consul): they cannot run in the kernel's lone
# venv, so they run in the shared one. A new such test fails loudly there until listed here.
ACROSS := $(wildcard tests/test_gomicro*.py tests/test_hosts.py)

test-shared: install  ## the tests that span distributions, in the shared venv
	$(BIN)/python -m pytest benchmarks docs $(ACROSS)

# --- Release: every distribution built, checked, and tested alone -----------------------

# $(call dist_name,DIR): the distribution name in DIR/setup.cfg.
dist_name = $(shell sed -n 's/^name *= *//p' $(1)/setup.cfg)
# $(call wheel_of,NAME): NAME's wheel in dist/ (expanded once `make dist` has run).
wheel_of = $(wildcard dist/$(subst -,_,$(1))-*.whl)
# test-dist/kernel is the kernel (the repository root), test-dist/plugins/NAME a plugin...
dir_of = $(if $(filter kernel,$(1)),.,$(1))
DIST_VENVS := .cache/dists

dist: install  ## sdist and wheel of every distribution in dist/, checked by twine
	rm -rf dist
	@# Two at a time (this is most of the time of `make dist`); each wheel is built from its
	@# sdist, so an sdist that misses a file fails here.
	@printf '%s\n' $(DISTS) | xargs -P 2 -I{} sh -c \
	  'echo "build {}"; $(BIN)/python -m build --no-isolation --outdir dist {} >/dev/null && rm -rf {}/build'
	$(BIN)/twine check --strict dist/*

test-dists: $(addprefix test-dist/,kernel $(PARTS))  ## each distribution alone, in a fresh venv, from its wheel

# In a fresh venv: the kernel's wheel and this one's, with their declared dependencies only;
# every module must import (a dependency missing from setup.cfg fails here). Then the test
# extras (the kernel's always, the distribution's own if it declares one) and micro-cli,
# the host of every component and what tests drive commands through; then its own tests,
# run from the repository against the installed wheels (the venv's pytest script does not
# put the source tree on sys.path); then `micro plugins` must list its entry points.
test-dist/%: NAME = $(call dist_name,$(call dir_of,$*))
test-dist/%: SOURCE = $(call dir_of,$*)
test-dist/%: V = $(DIST_VENVS)/$(NAME)
test-dist/%: PIP = $(V)/bin/python -m pip -q --disable-pip-version-check install --find-links dist
test-dist/%: dist
	@echo "=== $(NAME): alone in $(V)"
	rm -rf $(V)
	$(PYTHON) -m venv $(V)
	$(PIP) $(call wheel_of,micro-kernel) $(call wheel_of,$(NAME))
	$(V)/bin/python .ci/check_dist.py $(NAME)
	$(if $(filter micro-kernel,$(NAME)),! $(V)/bin/python -c 'import grpc' 2>/dev/null)
	$(PIP) "$(call wheel_of,micro-kernel)[test]" \
	  "$(call wheel_of,$(NAME))$(if $(shell grep -E '^test *=' $(SOURCE)/setup.cfg),[test])" \
	  $(if $(filter micro-kernel,$(NAME)),,$(call wheel_of,micro-cli))
	$(V)/bin/python .ci/check_dist.py $(NAME) --extras
	$(V)/bin/pytest -q -c pyproject.toml --rootdir . \
	  $(if $(filter .,$(SOURCE)),tests $(addprefix --ignore=,$(ACROSS)),$(SOURCE)/tests)
	$(if $(filter micro-kernel,$(NAME)),,$(V)/bin/python .ci/check_dist.py $(NAME) --extras --listed)

# Python 3.11 takes other paths in the kernel (no eager tasks: see micro_core/tasks.py).
# Its venv holds the kernel and its test extra only, like the kernel's lone venv.
ifneq ($(PYTHON311),)
$(VENV311)/.installed: setup.cfg
	$(call venv,$(PYTHON311),$(VENV311),-e .[test])
	touch $@

test-py311: $(VENV311)/.installed  ## the kernel's tests on Python 3.11, when the machine has it
	$(VENV311)/bin/pytest tests $(addprefix --ignore=,$(ACROSS))
else
test-py311:
	@echo "test-py311: no Python 3.11 here, the kernel's 3.11 run is left out"
endif

bench: install servers  ## the full benchmark run (under 10 minutes), writes benchmarks/RESULTS.md
	$(BIN)/python -m benchmarks

bench-quick: install servers  ## the one-minute benchmark run CI reports
	$(BIN)/python -m benchmarks --quick

clean:
	rm -rf $(VENV) build dist *.egg-info .cache/dists .cache/site
