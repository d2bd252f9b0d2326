# photosite: `make run` for the embedded site, `make test` for the whole suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test install services lint clean worker stack stack-down stack-status

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Embedded mode: no service variables, so SQLite, local files and an in-process worker.
run: $(STAMP)
	$(BIN)/python manage.py migrate --noinput -v 0
	$(BIN)/python manage.py collectstatic --noinput -v 0
	$(BIN)/python manage.py seed_demo
	@echo
	@echo "  photosite is running at http://$(HOST):$(PORT)/"
	@echo "  demo login: demo / photosite-demo"
	@echo
	$(BIN)/python manage.py runserver --noreload $(HOST):$(PORT)

# The services the suite talks to; this machine kind starts them, CI may not have.
services:
	@bash compose/local/ensure-services.sh

test: $(STAMP) services
	$(BIN)/python manage.py collectstatic --noinput -v 0
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .

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
