# CloudFormation checks, included by the top-level Makefile after it defines
# VENV := .venv and the $(VENV)/.installed-dev rule (cfn-lint comes from there).
# checkov lives in its own venv: its pins clash with the project's.

CHECKOV_VENV ?= .venv-checkov
CHECKOV_PYTHON ?= $(PYTHON)
CFN_TEMPLATES := $(sort $(wildcard cloudformation/*.yaml cloudformation/stacks/*.yaml))

$(CHECKOV_VENV)/.installed: cloudformation/requirements-checkov.txt
	$(CHECKOV_PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --disable-pip-version-check -r $<
	touch $@

# Prints the exact figures: cfn-lint errors/warnings over every template, then
# checkov's passed/failed/skipped line. Fails on any cfn-lint finding or any
# failed checkov check. --skip-download keeps checkov offline.
.PHONY: cfn-lint
cfn-lint: $(VENV)/.installed-dev $(CHECKOV_VENV)/.installed
	@out=$$($(VENV)/bin/cfn-lint --format parseable $(CFN_TEMPLATES)); rc=$$?; \
	  [ -z "$$out" ] || printf '%s\n' "$$out"; \
	  errors=$$(printf '%s\n' "$$out" | grep -c ':E[0-9]\{4\}:'); \
	  warnings=$$(printf '%s\n' "$$out" | grep -c ':W[0-9]\{4\}:'); \
	  echo "cfn-lint: $(words $(CFN_TEMPLATES)) templates, $$errors errors, $$warnings warnings"; \
	  exit $$rc
	@$(CHECKOV_VENV)/bin/checkov -d cloudformation --framework cloudformation \
	  --quiet --compact --skip-download
