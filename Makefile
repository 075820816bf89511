# Obrador — every target installs what it needs first.
VENV   := .venv
BIN    := $(VENV)/bin
PYTHON ?= python3
STAMP  := $(VENV)/.installed

.PHONY: install demo test lint bench chaos fuzz clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	@touch $(STAMP)

demo: install
	$(BIN)/obrador demo

test: install
	$(BIN)/python -m pytest -q -ra --durations=25

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy domain commands projections read_api streams forecasting migrations deploy

bench: install
	$(BIN)/obrador bench store
	$(BIN)/obrador bench relay
	$(BIN)/obrador bench freshness
	$(BIN)/obrador bench rebuild
	$(BIN)/obrador bench import
	$(BIN)/obrador bench api

# kill -9 of relay and projector; then the scaled-out run: two relays, two projectors, a
# 3-node NATS cluster losing nodes and PostgreSQL restarted, all under load (docs/benchmarks.md)
chaos: install
	$(BIN)/obrador chaos --events 100000 --cycles 20
	$(BIN)/obrador chaos --events 100000 --cycles 20 --relays 2 --projectors 2 --nats-cluster 3 --restart-postgres

# schemathesis over the read API (>= 5,000 requests) and random/boundary POS messages through
# real NATS; both run, and the target fails if either reports a 5xx, a lost message or a sick
# component (docs/benchmarks.md gets their rows).
fuzz: install
	@$(BIN)/python -m deploy.fuzz_api; api=$$?; \
	$(BIN)/python -m deploy.fuzz_pos; pos=$$?; \
	echo "fuzz: read API exit $$api, POS exit $$pos"; test $$api -eq 0 && test $$pos -eq 0

clean:
	rm -rf $(VENV) .obrador .pytest_cache .mypy_cache .ruff_cache
