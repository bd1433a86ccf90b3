# Every command a person types. `make help` lists them.
.DEFAULT_GOAL := help
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Debian packages the backend tests and `make run` start as throwaway processes.
BACKEND_PACKAGES := mariadb-server mariadb-client redis-server

.PHONY: help
help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | \
	  awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}'

# --- setup -------------------------------------------------------------------

$(BIN)/.installed: backend/requirements.txt backend/requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r backend/requirements-dev.txt
	touch $@

.PHONY: venv
venv: $(BIN)/.installed ## Create the backend virtualenv from the pinned requirements

.PHONY: backend-packages
backend-packages:
	@scripts/apt-ensure $(BACKEND_PACKAGES)

# --- backend -----------------------------------------------------------------

.PHONY: run
run: venv backend-packages ## Run the API on :9500 with its own MariaDB, Redis and worker
	scripts/run-dev

.PHONY: clean-run
clean-run: ## Remove the data of `make run`
	rm -rf .run

.PHONY: test-backend
test-backend: venv backend-packages ## Backend tests against a throwaway MariaDB and Redis
	cd backend && ../$(BIN)/pytest

.PHONY: lint
lint: venv ## Lint the Python code (ruff)
	$(BIN)/ruff check backend

# --- everything --------------------------------------------------------------

.PHONY: test
test: lint test-backend ## Run every test
