# The menu: `make dev` runs the product, `make test` runs the tests; both set up what they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PYTHON_RUNTIME := python$(shell $(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])')
export SAM_CLI_TELEMETRY := 0
# The repository and the layer on the import path of every target (pytest reads pyproject.toml's pythonpath instead).
export PYTHONPATH := $(CURDIR):$(CURDIR)/layers

CHECKOV_VENV := .venv-checkov
CLIENT_VENV := .venv-client

.PHONY: help dev token put test test-samlocal lint checkov build check migrate openapi bench deploy clean
.DEFAULT_GOAL := help

help:  ## this menu: every target and what it does (`make` alone prints it)
	@awk 'BEGIN {FS = ":[^#]*## "} /^[a-z][a-z-]*:.*## / {printf "  make %-9s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(VENV)/.installed: requirements-dev.txt layers/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

$(CHECKOV_VENV)/.installed: requirements-checkov.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/pip install --quiet -r requirements-checkov.txt
	touch $@

$(CLIENT_VENV)/.installed: requirements-client.txt
	$(PYTHON) -m venv $(CLIENT_VENV)
	$(CLIENT_VENV)/bin/pip install --quiet --upgrade pip
	$(CLIENT_VENV)/bin/pip install --quiet -r requirements-client.txt
	touch $@

dev: $(VENV)/.installed  ## the whole stack on this machine: API, S3 bucket with import, MySQL
	$(BIN)/python -m devstack

token: $(VENV)/.installed  ## one access token for the stack `make dev` runs (same S3_PORT), allowed everything
	@$(BIN)/python -m devstack.issuer

put: $(VENV)/.installed  ## upload FILE=path.csv (MODE=upsert|mirror|mirror-all, DRY_RUN=1) to `make dev`'s bucket, wait for its import
	@$(BIN)/python -m devstack.put $(FILE) $(if $(MODE),--mode $(MODE)) $(if $(DRY_RUN),--dry-run)

test: $(VENV)/.installed  ## every test, against the local MariaDB/MySQL (a throwaway database)
	$(BIN)/pytest

test-samlocal: $(VENV)/.installed  ## the `sam local` tests: Docker (tools/samlocal sets it up), 5 to 12 minutes here
	$(BIN)/pytest tests/samlocal

lint: $(VENV)/.installed checkov  ## code style (ruff) and template checks (cfn-lint through SAM, checkov)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/sam validate --lint

checkov: $(CHECKOV_VENV)/.installed  ## checkov on template.yaml: no failure allowed; skips only in the template, with a reason
	$(CHECKOV_VENV)/bin/checkov --file template.yaml --framework cloudformation --skip-download --compact --quiet

build: $(VENV)/.installed  ## sam build with this machine's Python (deploys build with python3.13: see README)
	$(BIN)/sam build --parameter-overrides PythonRuntime=$(PYTHON_RUNTIME)

check: lint test build  ## what CI runs: lint, test and build

migrate: $(VENV)/.installed  ## apply the schema migrations to DB_NAME (default: people), creating it if missing
	$(BIN)/python -m people_api.migrations --create-database

openapi: $(VENV)/.installed  ## write docs/openapi.yaml from the functions' routes and the layer's contract/ models
	$(BIN)/python tools/openapi.py

bench: $(VENV)/.installed  ## every benchmark, about 15 minutes (figures: README, Speed)
	$(BIN)/python bench/import_benchmark.py
	$(BIN)/python bench/import_modes.py
	$(BIN)/python bench/age_paging.py
	$(BIN)/python bench/change_feed.py
	$(BIN)/python bench/export_benchmark.py
	$(BIN)/python bench/cold_start.py
	$(BIN)/python bench/warm_requests.py
	$(BIN)/python bench/concurrent_requests.py

deploy: $(VENV)/.installed  ## build for python3.13/arm64 (needs python3.13 or Docker) and deploy
	$(BIN)/sam build
	$(BIN)/sam deploy

clean:  ## remove the SAM build (.aws-sam) and pytest's cache
	rm -rf .aws-sam .pytest_cache
