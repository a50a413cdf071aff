# The shop's commands. Quick start: `make run` (serve the demo shop), `make test` (the suite).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
MANAGE := $(PY) manage.py
# Debian packages the suite and the local stack need (PostgreSQL 15 comes with the image;
# systemd for `systemd-analyze`, which checks the units offline: nothing runs systemd here).
SYSTEM_PACKAGES := redis-server haproxy nginx chromium wrk systemd
SYSTEM_COMMANDS := /usr/bin/redis-server /usr/sbin/haproxy /usr/sbin/nginx /usr/bin/chromium \
	/usr/bin/wrk /usr/bin/systemd-analyze

.PHONY: run test test-fast test-stack stack stack-down release bench lint format check-deploy \
	outdated system-packages superuser screenshots clean

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(VENV)/bin/pip install --quiet -r requirements-dev.txt
	touch $@

$(VENV)/.installed-bench: $(VENV)/.installed bench/requirements.txt
	$(VENV)/bin/pip install --quiet -r bench/requirements.txt
	touch $@

include cloudformation/cfn.mk

system-packages:
	@missing=0; for c in $(SYSTEM_COMMANDS); do [ -x $$c ] || missing=1; done; \
	if [ $$missing = 1 ]; then \
		echo "Installing Debian packages: $(SYSTEM_PACKAGES)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends $(SYSTEM_PACKAGES) >/dev/null; \
	fi

## run: serve the shop with demo data on http://127.0.0.1:8000/ (SQLite, no Redis, no S3),
## with a worker beside it that delivers the queued email (to the console)
run: export DJANGO_DEBUG := true
run: $(VENV)/.installed
	$(MANAGE) migrate --no-input
	$(MANAGE) seed_demo
	@echo "Admin: create your first admin user with '$(MANAGE) createsuperuser' (or 'make superuser')."
	$(MANAGE) run_worker & worker=$$!; trap 'kill $$worker' EXIT; \
		$(MANAGE) runserver 127.0.0.1:8000

superuser: export DJANGO_DEBUG := true
superuser: $(VENV)/.installed
	$(MANAGE) createsuperuser

## test: the whole suite on real PostgreSQL and Redis (started and stopped by the suite),
## after lint and the CloudFormation checks (cfn-lint, checkov)
test: $(VENV)/.installed-dev system-packages lint cfn-lint
	$(PY) -m pytest

## test-fast: the inner loop, about a minute: every test that starts no process of its own
## (no gunicorn, local stack or browser), without lint and the CloudFormation checks
test-fast: $(VENV)/.installed-dev system-packages
	$(PY) -m pytest -m "not servers"

## test-stack: only the local stack's tests (fault tests, release and bootstrap); `make test` runs them too
test-stack: $(VENV)/.installed-dev system-packages
	$(PY) -m pytest -m stack

## stack: the AWS topology on this machine (HAProxy, three instances, PostgreSQL, Redis, S3);
## prints the shop's URL and the commands that kill, stop or restart a part of it
stack: $(VENV)/.installed-dev system-packages
	$(PY) -m deploy.stack up

## stack-down: stop everything `make stack` started (by PID) and delete .stack/
stack-down:
	@if [ -x $(PY) ]; then $(PY) -m deploy.stack down; fi

## release: dist/webshop-$(VERSION).tar.gz (app, wheels, static manifest) and its collected
## static files; VERSION defaults to `git describe --tags --always --dirty`
release: $(VENV)/.installed
	$(PY) -m deploy.release build $(if $(VERSION),--version $(VERSION))

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

## check-deploy: Django's deployment checks with the production environment of deploy/
check-deploy: $(VENV)/.installed
	set -a && source deploy/production.env.example && set +a && \
		$(MANAGE) check --deploy --fail-level WARNING

## bench: the shop under wrk against its ceiling view (docs/performance.md); results in
## bench-results/. Options: make bench BENCH_ARGS="--quick" (or --duration 10 --workers 2 ...)
bench: $(VENV)/.installed-bench
	@$(MAKE) --no-print-directory system-packages SYSTEM_PACKAGES="redis-server wrk" \
		SYSTEM_COMMANDS="/usr/bin/redis-server /usr/bin/wrk"
	$(PY) -m bench $(BENCH_ARGS)

## screenshots: retake docs/screenshots/*.png, the README's feature tour (the demo shop on
## throwaway servers, driven by Chromium with Playwright; about 20 s)
screenshots: $(VENV)/.installed-dev system-packages
	$(PY) -m docs.screenshots

## outdated: pinned packages with newer releases (pip's own check against the index), in the
## project's venv and, when it exists, checkov's; bump the pins in requirements*.txt and rerun
## make test. Audits: see "Dependencies" in README.md (pip-audit, where its database is reachable)
outdated: $(VENV)/.installed-dev
	@echo "Project venv (requirements.txt, requirements-dev.txt, bench/requirements.txt):"
	@$(VENV)/bin/pip list --outdated --disable-pip-version-check --exclude pip --exclude setuptools
	@if [ -x $(CHECKOV_VENV)/bin/pip ]; then \
		echo "checkov venv (cloudformation/requirements-checkov.txt):"; \
		$(CHECKOV_VENV)/bin/pip list --outdated --disable-pip-version-check --exclude pip \
			--exclude setuptools; \
	fi

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) staticfiles media db.sqlite3
