# Minot: `make demo` and `make test` are all a newcomer needs.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
PORT ?= 8000
export PORT

.PHONY: browser-deps demo test install lint check messages stack clean-demo bench typecheck depgraph schema bench-quick security screenshots

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

$(UV): $(VENV)/bin/python
	$(PY) -m pip --version >/dev/null 2>&1 || $(PY) -m ensurepip --upgrade >/dev/null
	$(PY) -m pip install --quiet --disable-pip-version-check uv

$(VENV)/.installed: pyproject.toml uv.lock agents/pyproject.toml | $(UV)
	UV_PROJECT_ENVIRONMENT=$(VENV) $(UV) sync --frozen --inexact --python $(PY) --quiet
	touch $@

install: $(VENV)/.installed

messages: install
	$(PY) manage.py compilemessages --ignore=.venv --ignore=var --ignore=node_modules -v0

demo: install
	@mkdir -p var
	DJANGO_SETTINGS_MODULE=backend.settings.local $(PY) manage.py migrate --noinput -v0
	DJANGO_SETTINGS_MODULE=backend.settings.local $(PY) manage.py seed_demo
	DJANGO_SETTINGS_MODULE=backend.settings.local $(PY) manage.py setup_periodic_tasks
	DJANGO_SETTINGS_MODULE=backend.settings.local $(PY) -m backend.demo

test: install browser-deps
	@mkdir -p var
	$(PY) -m pytest $(PYTEST_ARGS)

# Debian's Chromium for the browser tests (Playwright drives it; nothing is downloaded at run time).
browser-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "Installing Debian's chromium for the browser tests..."; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core >/dev/null; \
	  else echo "chromium not found: browser tests will be skipped (apt-get install chromium)"; fi; }

# Each role's home at 360 px (docs/screenshots/<role>-home-360.png), from the demo data.
screenshots: install browser-deps
	MINOT_SCREENSHOTS=docs/screenshots $(PY) -m pytest tests/pages/test_screenshots.py -q -p no:cacheprovider

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

check: install
	@mkdir -p var
	DJANGO_SETTINGS_MODULE=backend.settings.test $(PY) manage.py makemigrations --check --dry-run
	SECRET_KEY=$$(head -c 48 /dev/urandom | base64) ALLOWED_HOSTS=minot.example.org DJANGO_SETTINGS_MODULE=backend.settings.production \
	  $(PY) manage.py check --deploy --fail-level WARNING

# Web + worker + beat against the local PostgreSQL and Redis (see README "Running against PostgreSQL and Redis").
stack: install
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/minot} \
	CELERY_BROKER_URL=$${CELERY_BROKER_URL:-redis://127.0.0.1:6379/0} \
	  $(PY) -m backend.demo --stack

# Every benchmark at full size: bench/results/<date>-<name>.json and docs/performance.md.
bench: install
	$(PY) -m bench.run_all

# The same benchmarks at CI size (fails only on errors, never on timing).
bench-quick: install
	$(PY) -m bench.run_all --quick

clean-demo:
	rm -f var/minot.sqlite3* var/broker.sqlite3*

# mypy (django-stubs + drf-stubs) on the whole project (views, APIs, tasks included); services,
# selectors and permissions must be fully annotated (pyproject.toml [[tool.mypy.overrides]]).
TYPED := backend family canteen payments fleet
# The OpenAPI schema, versioned in the repo: a change of the API shows up in review.
schema: install
	DJANGO_SETTINGS_MODULE=backend.settings.test $(PY) manage.py spectacular --file docs/api/openapi.yaml --validate --fail-on-warn

# The app dependency graph, read from the imports, written into docs/architecture.md (fails on a cycle).
depgraph: install
	$(PY) -m backend.core.depgraph --write docs/architecture.md

typecheck: install
	$(VENV)/bin/mypy $(TYPED)

# bandit (no high finding) and pip-audit (skipped with a message when PyPI is unreachable).
security: install
	.ci/security
