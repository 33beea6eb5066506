# The two commands: `make dev` and `make test`. Everything else supports them.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PACKAGES := libs/common libs/devstack services/ingest services/analytics-aggregator \
            services/health-monitor services/backup-worker services/dashboard-api clients/python
COMPOSE_SCHEMA := $(VENV)/share/compose-spec.json
PYPROJECTS := pyproject.toml $(foreach p,$(PACKAGES),$(p)/pyproject.toml)

.PHONY: dev test install lint unit system-deps clean bench

# A GeoLite2-format city database (DB-IP City Lite, CC BY 4.0) for IP geolocation of
# geo-consented events; `make dev` runs without IP lookups if it cannot be fetched.
GEOIP_DB := $(VENV)/share/geoip/dbip-city-lite.mmdb

dev: install
	@./scripts/geoip-db.sh
	LOOKOUT_GEOIP_DATABASE=$$(test -f $(GEOIP_DB) && echo $(CURDIR)/$(GEOIP_DB)) $(BIN)/lookout up --demo

test: install system-deps $(COMPOSE_SCHEMA)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python -m pytest $(PYTEST_PARALLEL) --durations=25

# Two workers, each file on one (its module-scoped stacks stay whole); most of the suite
# waits on real services, so two workers finish well before one on two cores.
# `make test PYTEST_PARALLEL=` runs it in one process.
PYTEST_PARALLEL ?= -n 2 --dist loadfile

install: $(STAMP)

$(STAMP): $(PYPROJECTS)
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Lookout needs Python 3.11+"'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || { \
	  echo "python3 -m venv failed; installing python3-venv"; \
	  ./scripts/system-deps.sh python3-venv && $(PYTHON) -m venv $(VENV); }
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(foreach p,$(PACKAGES),-e $(p)) -e '.[dev]'
	@touch $(STAMP)

# The Compose specification's JSON schema, for tests/deploy (taken from the docker-compose
# wheel on PyPI at install time, so the tests themselves need no network).
$(COMPOSE_SCHEMA): | $(STAMP)
	@mkdir -p $(VENV)/share/download
	$(BIN)/python -m pip download --quiet --no-deps --dest $(VENV)/share/download docker-compose==1.29.2
	$(BIN)/python -c 'import glob, zipfile, sys; wheel = glob.glob("$(VENV)/share/download/docker_compose-*.whl")[0]; open(sys.argv[1], "wb").write(zipfile.ZipFile(wheel).read("compose/config/compose_spec.json"))' $@

# Debian packages some tests drive for real (see scripts/system-deps.sh).
system-deps:
	@./scripts/system-deps.sh

lint: install
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/mypy

unit: install
	$(BIN)/python -m pytest tests/unit

bench: install
	$(BIN)/python bench/ingest.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
