# Two commands matter: `make run` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum < pyproject.toml | cut -d' ' -f1)

.PHONY: run test lint chromium postgresql bench soak proto clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Basis needs Python 3.11 or newer; set PYTHON=python3.11" or 0)'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	@rm -f $(VENV)/.installed-*
	@touch $@

run: $(STAMP)
	$(BIN)/basis run $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint chromium postgresql
	$(BIN)/python -m pytest -q

# The report's browser test (tests/integration/test_report_browser.py) opens it in Debian's
# chromium package, at the path that package installs it (tests/integration/chromium.py):
# installed here where this user can, named otherwise.
CHROMIUM := /usr/bin/chromium
chromium:
	@test -x $(CHROMIUM) \
		|| { command -v apt-get >/dev/null && apt-get update -q && apt-get install -y chromium \
			&& test -x $(CHROMIUM); } \
		|| { echo "make test needs $(CHROMIUM): install it with apt-get install -y chromium" >&2; exit 1; }

# The PostgreSQL store's and the cluster's tests start a throwaway server of Debian's
# postgresql package (actors/chaos/throwaway_postgres.py): installed here where this user can.
POSTGRES_BIN := /usr/lib/postgresql
postgresql:
	@ls $(POSTGRES_BIN)/*/bin/initdb >/dev/null 2>&1 \
		|| { command -v apt-get >/dev/null && apt-get update -q && apt-get install -y postgresql \
			&& ls $(POSTGRES_BIN)/*/bin/initdb >/dev/null 2>&1; } \
		|| { echo "make test needs PostgreSQL's server: install it with apt-get install -y postgresql" >&2; exit 1; }

bench: $(STAMP)
	$(BIN)/python -m bench

# The soak tests at full length; SOAK_S sets how long the chaos soak's faults play (seconds:
# a kill storm for a third of them, then the mixed scenario).
SOAK_S ?= 1800
soak: $(STAMP)
	BASIS_CHAOS_SOAK_S=$(SOAK_S) $(BIN)/python -m pytest -q -s -m soak --run-soak

# Regenerates protocols/mexc_push_pb2.py (committed) from protocols/mexc_push.proto. Needs
# grpcio-tools, which it installs into a throwaway venv outside the repo; the pinned version
# decides the gencode version, which must match the protobuf>= bound in pyproject.toml.
PROTOC_VENV ?= /tmp/basis-protoc-venv
GRPCIO_TOOLS_VERSION := 1.85.1
proto:
	@test -x $(PROTOC_VENV)/bin/python || $(PYTHON) -m venv $(PROTOC_VENV)
	$(PROTOC_VENV)/bin/python -m pip install --quiet --disable-pip-version-check 'grpcio-tools==$(GRPCIO_TOOLS_VERSION)'
	$(PROTOC_VENV)/bin/python -m grpc_tools.protoc -I protocols --python_out=protocols protocols/mexc_push.proto

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
