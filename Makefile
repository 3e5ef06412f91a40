# icr.registry — the README's two commands are `make demo` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# Sanity runs with the oldest and the newest ansible-core that meta/runtime.yml claims:
# the newest is constraints.txt's (in .venv), the oldest requirements-oldest.txt's.
VENV_OLDEST := .venv-oldest
STATE := .sandbox
SANDBOX := PYTHONPATH=sandbox $(PY) -m icr_sandbox
SANITY_ROOT := .build/sanity
SANITY_TREE := $(SANITY_ROOT)/ansible_collections/icr/registry
VERSION := $(shell sed -n 's/^version: *//p' galaxy.yml)
TARBALL := .build/icr-registry-$(VERSION).tar.gz
COLLECTION_LINK := .build/collections/ansible_collections/icr/registry

.PHONY: help demo test venv system-deps sandbox-up sandbox-down sandbox-status \
        venv-oldest build pip-bootstrap sanity sanity-newest sanity-oldest lint units conformance integration gate clean

help:
	@echo "make demo   set everything up, start the sandbox, run playbooks/demo.yml, stop it"
	@echo "make test   the whole gate: sanity (oldest and newest ansible-core), lint, unit tests, sandbox conformance, integration"
	@echo "make sandbox-up | sandbox-down | build | sanity | sanity-newest | sanity-oldest | lint | units | conformance | integration"

venv: $(VENV)/.installed
$(VENV)/.installed: requirements.txt requirements-dev.txt constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt -c constraints.txt
	touch $@

venv-oldest: $(VENV_OLDEST)/.installed
$(VENV_OLDEST)/.installed: requirements-oldest.txt
	test -x $(VENV_OLDEST)/bin/python || $(PYTHON) -m venv $(VENV_OLDEST)
	$(VENV_OLDEST)/bin/python -m pip install -q --disable-pip-version-check -r requirements-oldest.txt
	touch $@

system-deps:
	tools/install-system-deps.sh

sandbox-up: venv system-deps
	$(SANDBOX) up --state-dir $(STATE)

sandbox-down:
	@if [ -x $(PY) ]; then $(SANDBOX) down --state-dir $(STATE); fi

sandbox-status: venv
	$(SANDBOX) status --state-dir $(STATE)

# The built collection, installed where ansible-test wants it.
build: venv
	rm -rf .build/icr-registry-*.tar.gz $(SANITY_ROOT)
	$(VENV)/bin/ansible-galaxy collection build --force --output-path .build . >/dev/null
	$(VENV)/bin/ansible-galaxy collection install --force -p $(SANITY_ROOT) $(TARBALL) >/dev/null
	@# ansible-test lists files with git; inside this ignored folder it would find none.
	cd $(SANITY_TREE) && git init -q && git add -A
	@echo "built and installed $(TARBALL)"

# ansible-test bootstraps pip in each test venv with get-pip.py, which it cannot
# download here; it uses a cached copy first, named after the pip version it wants
# (each ansible-core pins its own).
pip-bootstrap: venv venv-oldest
	tools/cache-get-pip.sh $(PY)
	tools/cache-get-pip.sh $(VENV_OLDEST)/bin/python

# This checkout as the collection icr.registry, for playbooks and integration tests.
$(COLLECTION_LINK):
	mkdir -p $(dir $@) && ln -sfn $(CURDIR) $@

# One build, checked by both ansible-cores in turn (each reads its tests/sanity/ignore-2.X.txt).
sanity: sanity-newest sanity-oldest

sanity-newest: build pip-bootstrap
	cd $(SANITY_TREE) && PATH=$(CURDIR)/$(VENV)/bin:$$PATH ansible-test sanity --local --python 3.11 --color no

sanity-oldest: build pip-bootstrap
	cd $(SANITY_TREE) && PATH=$(CURDIR)/$(VENV_OLDEST)/bin:$$PATH ansible-test sanity --local --python 3.11 --color no

lint: venv
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH ansible-lint --profile production --nocolor

units: venv
	$(PY) -m pytest -q -p no:cacheprovider tests/unit

conformance: venv
	set -a; . $(STATE)/env.sh; set +a; $(PY) -m pytest -q -p no:cacheprovider tests/sandbox

integration: venv
	$(PY) tests/integration/run

# Everything that needs no sandbox first, then the sandbox suites; the sandbox is
# stopped whatever the outcome.
test: venv system-deps
	$(MAKE) --no-print-directory sanity
	$(MAKE) --no-print-directory lint
	$(MAKE) --no-print-directory units
	$(MAKE) --no-print-directory sandbox-up
	status=0; \
	  $(MAKE) --no-print-directory conformance || status=1; \
	  $(MAKE) --no-print-directory integration || status=1; \
	  $(MAKE) --no-print-directory sandbox-down; \
	  exit $$status

demo: venv system-deps $(COLLECTION_LINK)
	$(MAKE) --no-print-directory sandbox-up
	status=0; \
	  ( set -a; . $(STATE)/env.sh; set +a; \
	    ANSIBLE_COLLECTIONS_PATH=$(CURDIR)/.build/collections \
	    $(VENV)/bin/ansible-playbook -i localhost, -c local \
	      -e ansible_python_interpreter=$(CURDIR)/$(PY) playbooks/demo.yml ) || status=1; \
	  $(MAKE) --no-print-directory sandbox-down; \
	  exit $$status

clean:
	rm -rf .build tests/output
