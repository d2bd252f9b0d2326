# photosite: `make run` for the embedded site, `make test` for the whole suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
# Test processes for `make test` (pytest-xdist, one module per process at a time): most
# tests wait on servers they start, so three overlap well even on two cores (README, Tests).
# 0 runs in one.
TEST_PROCESSES ?= 3

# Exact versions with hashes (README, "Dependencies"): the dev lock for this venv,
# the runtime lock (a subset with the same pins) for the Docker image.
LOCK := requirements.lock
DEV_LOCK := requirements-dev.lock
# uv only does the locking, so it lives apart from the venv; pinned so a re-lock
# with no other change rewrites nothing.
UV_VERSION := 0.13.9
UV_VENV := var/lock-tools
UV := $(UV_VENV)/bin/uv
LOCK_FLAGS := --quiet --generate-hashes --universal --python-version 3.11 --custom-compile-command "make lock" \
	$(if $(UPGRADE),--upgrade) $(foreach package,$(UPGRADE_PACKAGE),--upgrade-package $(package))

.PHONY: run test install services lint clean worker stack stack-down stack-status lock upgrade

$(STAMP): $(DEV_LOCK) pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r $(DEV_LOCK)
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

$(UV):
	$(PYTHON) -m venv $(UV_VENV)
	$(UV_VENV)/bin/python -m pip install --quiet uv==$(UV_VERSION)

# Re-resolve after editing pyproject.toml; existing pins are kept unless UPGRADE=1
# (everything) or UPGRADE_PACKAGE="django pillow" (just those). Commit both files.
# The runtime lock is constrained by the dev lock, so the image runs what the tests ran.
lock: $(UV)
	$(UV) pip compile pyproject.toml --extra dev $(LOCK_FLAGS) -o $(DEV_LOCK)
	$(UV) pip compile pyproject.toml -c $(DEV_LOCK) $(LOCK_FLAGS) -o $(LOCK)

upgrade:
	$(MAKE) lock UPGRADE=1

# Embedded mode: no service variables, so SQLite, local files and an in-process worker.
run: $(STAMP)
	$(BIN)/python manage.py migrate --noinput -v 0
	$(BIN)/python manage.py collectstatic --noinput -v 0
	$(BIN)/python manage.py seed_demo
	@echo
	@echo "  photosite is running at http://$(HOST):$(PORT)/"
	@echo "  demo login: demo / photosite-demo"
	@echo "  staff login: operator / photosite-demo  (operators' dashboard /ops/, admin /admin/)"
	@echo
	$(BIN)/python manage.py runserver --noreload $(HOST):$(PORT)

# The services the suite talks to; this machine kind starts them, CI may not have.
services:
	@bash compose/local/ensure-services.sh

# lint first: a type or layering error fails in seconds, not after the whole suite.
test: lint services
	$(BIN)/python -m pytest -n $(TEST_PROCESSES) --dist loadfile $(PYTEST_ARGS)

# Every gate house rule 10 names; all of them run, then it fails if any did.
# .pre-commit-config.yaml runs the same commands from the same venv.
lint: $(STAMP)
	@failed=""; \
	$(BIN)/ruff check . || failed="$$failed ruff-check"; \
	$(BIN)/ruff format --check . || failed="$$failed ruff-format"; \
	$(BIN)/mypy || failed="$$failed mypy"; \
	$(BIN)/lint-imports || failed="$$failed lint-imports"; \
	$(BIN)/python -m tests.lint_private_names || failed="$$failed private-names"; \
	if [ -n "$$failed" ]; then echo "make lint failed:$$failed" >&2; exit 1; fi

# A worker for a running stack (BROKER_URL set): the ecosystem's command, via django_dramatiq.
worker: $(STAMP)
	$(BIN)/python manage.py rundramatiq --processes 1 --threads 4

# The production topology on this machine, from Debian packages and PyPI (no Docker):
# PostgreSQL primary + replica, Redis, SeaweedFS, nginx, two web processes, two workers.
stack: $(STAMP) services
	$(BIN)/python compose/local/stack.py up

stack-down:
	$(BIN)/python compose/local/stack.py down

stack-status:
	$(BIN)/python compose/local/stack.py status

clean:
	rm -rf var .pytest_cache
