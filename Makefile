# Developer commands. Needs only GNU make and Python 3.11+; everything else is installed
# into .venv on first use. `make help` lists the targets.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check --quiet
ADDR ?= 127.0.0.1:8000
PYTEST_ARGS ?=
# `make test` measures coverage of our packages (pyproject.toml [tool.coverage]);
# COVERAGE_ARGS= turns it off, and CI adds --cov-fail-under (.ci/run).
COVERAGE_ARGS ?= --cov --cov-report=term
# Test processes (pytest-xdist; the machine has 2 cores). Work stealing: a process that runs out
# takes half of the other's pending tests, so neither idles at the end behind one long file.
# TEST_WORKERS=0 runs the suite in this process alone.
TEST_WORKERS ?= 2
CELERY_QUEUES ?= default,email,webhooks

# Reinstall only when a requirements file changes.
PY_STAMP := $(VENV)/.requirements-installed
NODE_STAMP := $(if $(wildcard package.json),node_modules/.npm-installed)

.DEFAULT_GOAL := help
.PHONY: help install run test lint format migrate seed worker beat bench check-deploy clean distclean
.PHONY: schemathesis screenshots

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  make %-13s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(PY):
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null \
		|| { echo "Python 3.11 or newer is needed as '$(PYTHON)' (set PYTHON=...)." >&2; exit 1; }
	@echo "==> Creating the virtualenv in $(VENV)"
	@$(PYTHON) -m venv $(VENV) \
		|| { echo "python3 -m venv failed: on Debian/Ubuntu install python3-venv." >&2; exit 1; }

$(PY_STAMP): requirements.txt requirements-dev.txt | $(PY)
	@echo "==> Installing Python packages (requirements-dev.txt)"
	@$(PIP) install -r requirements-dev.txt
	@touch $@

node_modules/.npm-installed: package.json $(wildcard package-lock.json)
	@if command -v npm >/dev/null 2>&1; then \
		echo "==> Installing front-end packages (npm)"; \
		if [ -f package-lock.json ]; then npm ci --no-audit --no-fund --loglevel=error; \
		else npm install --no-audit --no-fund --loglevel=error; fi && touch $@; \
	else \
		echo "==> npm not found: front-end packages in package.json are not installed."; \
		echo "    Install Node.js and npm, then run make again."; \
	fi

install: $(PY_STAMP) $(NODE_STAMP) ## Create .venv and install what changed
	@:

run: install ## Migrate, seed the demo school and serve it on http://127.0.0.1:8000
	@echo "==> Migrating the database"
	@$(PY) manage.py migrate --no-input -v 0
	@echo "==> Seeding the demo school"
	@$(PY) manage.py seed_demo
	@echo "==> Serving on http://$(ADDR)/ (Ctrl+C stops)"
	@$(PY) manage.py runserver $(ADDR)

test: install ## Run the test suite (PYTEST_ARGS="-k name -x" passes options)
	@status=0; $(VENV)/bin/pytest -n $(TEST_WORKERS) --dist worksteal $(COVERAGE_ARGS) $(PYTEST_ARGS) || status=$$?; \
	if [ $$status -eq 5 ]; then \
		echo "make test: pytest collected no tests (exit code 5); an empty run is a failure." >&2; \
		exit 1; \
	fi; \
	exit $$status

lint: install ## Check style (ruff check + ruff format --check)
	@$(VENV)/bin/ruff check .
	@$(VENV)/bin/ruff format --check .

format: install ## Fix what ruff can fix and format the code
	@$(VENV)/bin/ruff check --fix .
	@$(VENV)/bin/ruff format .

migrate: install ## Apply database migrations
	@$(PY) manage.py migrate --no-input

seed: install ## Create or refresh the demo school (idempotent)
	@$(PY) manage.py seed_demo

worker: install ## Run a Celery worker on the default, email and webhooks queues (needs REDIS_URL)
	@$(VENV)/bin/celery -A lms worker -Q $(CELERY_QUEUES) --loglevel=INFO

beat: install ## Run the Celery beat scheduler (exactly one per deployment)
	@$(VENV)/bin/celery -A lms beat --loglevel=INFO --schedule=$(VENV)/celerybeat-schedule

# BENCH_ARGS passes options, e.g. BENCH_ARGS="--skip-chat --skip-dashboard" (bench/README.md).
BENCH_ARGS ?=
bench: install ## Benchmark learners' pages, APIs, writes and webhooks against the issue's targets
	@$(PY) bench/run.py $(BENCH_ARGS)

# Schema-driven API fuzzing (bench/schemathesis_run.py): SQLite by default,
# SCHEMATHESIS_DATABASE_URL=postgres://.../<name with "schemathesis"> for PostgreSQL.
schemathesis: install ## Fuzz the API from its schema against a live server (fails on findings)
	@$(PY) bench/schemathesis_run.py

# The journey test takes them (viewport-sized, stable names); without Chromium it fails.
screenshots: install ## Retake the README screenshots (docs/screenshots/) in headless Chromium
	@LMS_SCREENSHOT_DIR=docs/screenshots LMS_REQUIRE_SERVICES=1 \
		$(VENV)/bin/pytest progress/tests/test_browser_demo_journey.py \
		analytics/tests/test_dashboard_browser.py assistant/tests/test_tutor_browser.py \
		-q -p no:cacheprovider

check-deploy: install ## Run Django's deployment checks with production-like settings
	@DEBUG=false ALLOWED_HOSTS="$${ALLOWED_HOSTS:-lms.example.com}" \
		SECRET_KEY="$$($(PY) -c 'import secrets; print(secrets.token_urlsafe(48))')" \
		$(PY) manage.py check --deploy --fail-level WARNING

clean: ## Remove caches and generated files (keeps .venv and the database)
	@find . -path ./$(VENV) -prune -o -path ./node_modules -prune -o \
		-type d -name __pycache__ -exec rm -rf {} +
	@rm -rf .pytest_cache .ruff_cache .coverage .coverage.* htmlcov staticfiles bench/results celerybeat-schedule*
	@echo "==> Cleaned"

distclean: clean ## Also remove .venv, node_modules, the SQLite database and local media
	@rm -rf $(VENV) node_modules db.sqlite3 media-files
	@echo "==> Back to a fresh clone"
