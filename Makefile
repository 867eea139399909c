# The menu: `make dev` runs the product, `make test` runs the tests; both set up what they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The Lambda runtime an interpreter is (python3.X), empty if it does not run.
runtime_of = $(shell $(1) -c 'import sys; print("python%d.%d" % sys.version_info[:2])' 2>/dev/null)
PYTHON_RUNTIME := $(call runtime_of,$(PYTHON))
# `make build` builds for this machine (the template's name for its architecture), into BUILD_DIR.
ARCHITECTURE := $(if $(filter aarch64 arm64,$(shell uname -m)),arm64,x86_64)
BUILD_DIR ?= .aws-sam/build
# Deploys build for samconfig.toml's runtime; DEPLOY_PYTHON compiles their bytecode, so it must be that version.
DEPLOY_RUNTIME := $(shell sed -n 's/^parameter_overrides = "PythonRuntime=\(python3\.[0-9]*\).*/\1/p' samconfig.toml | head -n 1)
DEPLOY_PYTHON ?= $(DEPLOY_RUNTIME)
# More options for the deploy build, e.g. SAM_BUILD_OPTIONS="--use-container --mount-symlinks" (README).
SAM_BUILD_OPTIONS ?=
export SAM_CLI_TELEMETRY := 0
# The repository and the layer on the import path of every target (pytest reads pyproject.toml's pythonpath instead).
export PYTHONPATH := $(CURDIR):$(CURDIR)/layers

CHECKOV_VENV := .venv-checkov
CLIENT_VENV := .venv-client

.PHONY: help dev token put test test-samlocal lint checkov build check migrate openapi bench build-deploy deploy clean
.DEFAULT_GOAL := help

help:  ## this menu: every target and what it does (`make` alone prints it)
	@awk 'BEGIN {FS = ":[^#]*## "} /^[a-z][a-z-]*:.*## / {printf "  make %-13s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

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

# Checked-hash bytecode for all that `sam build` put in $(3), compiled by $(1) if it is $(2), the runtime built
# for (a .pyc of another version is ignored); else a warning that the build ships without (docs/deploy.md#bytecode).
define compile_build
	@if [ "$(call runtime_of,$(1))" = "$(2)" ]; then \
		$(1) -m compileall -q -j 0 --invalidation-mode checked-hash $(3) && echo "Bytecode: $(3) compiled by $(1)"; \
	else \
		echo "WARNING: $(3) ships without bytecode: $(1) is not a $(2) that runs here (a .pyc of another" \
			"version is ignored). Every cold start then compiles every module it imports, about half its import" \
			"time (docs/deploy.md#bytecode). Put $(2) on PATH, or name one: DEPLOY_PYTHON=/path/to/$(2)." >&2; \
	fi
endef

build: $(VENV)/.installed  ## sam build for this machine (its Python and architecture) into BUILD_DIR, with bytecode
	$(BIN)/sam build --build-dir $(BUILD_DIR) --parameter-overrides PythonRuntime=$(PYTHON_RUNTIME) Architecture=$(ARCHITECTURE)
	$(call compile_build,$(PYTHON),$(PYTHON_RUNTIME),$(BUILD_DIR))

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

build-deploy: $(VENV)/.installed  ## sam build for AWS (python3.13/arm64, samconfig.toml), bytecode by DEPLOY_PYTHON=python3.13
	$(BIN)/sam build $(SAM_BUILD_OPTIONS)
	$(call compile_build,$(DEPLOY_PYTHON),$(DEPLOY_RUNTIME),.aws-sam/build)

deploy: build-deploy  ## build-deploy, then sam deploy (the first deploy: README, Deploying from zero)
	$(BIN)/sam deploy

clean:  ## remove the SAM build (.aws-sam) and pytest's cache
	rm -rf .aws-sam .pytest_cache
