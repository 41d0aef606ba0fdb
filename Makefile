# Every target works on a fresh clone with nothing installed beyond python3.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PKGS := spec refimpl conformance tests bench

.PHONY: venv check lint typecheck test diagrams conformance bench demo clean

venv: $(STAMP)

# Re-created only when pyproject.toml changes. pip >= 25.1 reads [dependency-groups].
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=25.1"
	$(BIN)/python -m pip install --quiet -e . --group dev
	touch $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check $(PKGS)
	$(BIN)/ruff format --check $(PKGS)

typecheck: $(STAMP)
	$(BIN)/mypy --strict $(PKGS)

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

check: lint typecheck test

# Generated teaching artefacts (a test fails when the committed copies are stale).
diagrams: $(STAMP)
	$(BIN)/python -m spec.docs docs

# The conformance suite against the reference implementation, attached as a subprocess
# speaking adapter protocol v1 (conformance/PROTOCOL.md); exits non-zero on any
# unexpected result. CONFORMANCE_ARGS adds runner options (--json FILE, --junit FILE...).
conformance: $(STAMP)
	$(BIN)/python -m conformance run \
		--adapter "$(BIN)/python -m conformance.adapters.refimpl" \
		--expectations conformance/expectations/refimpl.json $(CONFORMANCE_ARGS)

# The benchmark suite (bench/, pyperf): a few minutes on two cores.  Writes
# bench/results.json, bench/pyperf.json and the README's Benchmarks table.
# BENCH_ARGS adds options, e.g. BENCH_ARGS="--only pick/" (prints only, writes nothing).
bench: $(STAMP)
	$(BIN)/python -m bench run $(BENCH_ARGS)

# The whole suite against grpc-go's real balancers (conformance/adapters/grpc-go, pinned in
# its go.mod). Needs Go; the grpc module comes from the Go module proxy on first use.
# Without Go it says so and succeeds: `make check` never needs Go.
GO ?= go
GRPC_GO_ADAPTER_DIR := conformance/adapters/grpc-go
.PHONY: conformance-grpc-go
conformance-grpc-go: $(STAMP)
	@if ! command -v $(GO) >/dev/null 2>&1; then \
		echo "conformance-grpc-go: SKIPPED: Go is not installed ('$(GO)' is not on PATH);"; \
		echo "conformance-grpc-go: install Go to run the suite against grpc-go."; \
		exit 0; \
	fi; \
	set -e; \
	echo "conformance-grpc-go: building the adapter with $$($(GO) version)"; \
	$(GO) -C $(GRPC_GO_ADAPTER_DIR) vet -mod=readonly .; \
	$(GO) -C $(GRPC_GO_ADAPTER_DIR) build -mod=readonly -buildvcs=false -trimpath \
		-o bin/grpc-go-adapter .; \
	$(BIN)/python -m conformance run --adapter "$(GRPC_GO_ADAPTER_DIR)/bin/grpc-go-adapter" \
		--expectations conformance/expectations/grpc-go.json $(CONFORMANCE_ARGS)

# Bounded exhaustive exploration (docs/explore.md): the README's table of what has been
# explored exhaustively, one row per line; each row is a few minutes on two cores.
# EXPLORE_ARGS adds options (--jobs 2, --out DIR...).
.PHONY: explore
explore: $(STAMP)
	$(BIN)/python -m conformance explore --policy pick_first --in-process --endpoints 3 --depth 6 $(EXPLORE_ARGS)
	$(BIN)/python -m conformance explore --policy round_robin --in-process --endpoints 3 --depth 10 $(EXPLORE_ARGS)
	$(BIN)/python -m conformance explore --policy round_robin --in-process --endpoints 3 --depth 6 --health-checking $(EXPLORE_ARGS)

# Three local servers (127.0.0.1) and each reference policy's traffic split;
# `$(BIN)/python -m refimpl.demo --compare` puts grpcio's own policies beside them.
demo: $(STAMP)
	$(BIN)/python -m refimpl.demo

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
