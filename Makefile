# Every target works on a fresh clone with nothing installed beyond python3.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PKGS := spec refimpl conformance tests bench

.PHONY: venv check lint typecheck test diagrams conformance bench demo clean

venv: $(STAMP)

# Re-created only when pyproject.toml or constraints.txt changes. pip >= 25.1 reads
# [dependency-groups]; constraints.txt pins every package to the versions CI ran.
$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=25.1"
	$(BIN)/python -m pip install --quiet -c constraints.txt -e . --group dev
	touch $(STAMP)

# constraints.txt from the newest versions pyproject.toml allows, in a scratch venv;
# review the diff and run make check before committing it.
.PHONY: lock
lock:
	rm -rf $(VENV)-lock
	$(PYTHON) -m venv $(VENV)-lock
	$(VENV)-lock/bin/python -m pip install --quiet --upgrade "pip>=25.1"
	$(VENV)-lock/bin/python -m pip install --quiet -e . --group dev
	{ sed -n '1,3p' constraints.txt; $(VENV)-lock/bin/python -m pip freeze --exclude-editable; } \
		> constraints.txt.new
	mv constraints.txt.new constraints.txt
	rm -rf $(VENV)-lock

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
	$(BIN)/python -m conformance.requirement_index docs
	$(BIN)/python -m conformance.tour docs
	$(BIN)/python -m conformance.implementations_page docs --readme README.md
	$(BIN)/python -m conformance.coverage docs
	$(BIN)/python -m conformance.explore_page docs/explore_implementations.md

# The conformance suite against the reference implementation, attached as a subprocess
# speaking adapter protocol v1 (conformance/PROTOCOL.md); exits non-zero on any
# unexpected result. The reference lacks nothing, so --require-all: a SKIPPED case is a
# failure here. CONFORMANCE_ARGS adds runner options (--json FILE, --junit FILE...).
# Each conformance target writes its JSON report (no wall-clock times) to $(REPORTS)/<name>.json;
# they are committed, and `make diagrams` builds docs/implementations.md and the README's
# results table from them.
REPORTS := conformance/reports
conformance: $(STAMP)
	@mkdir -p $(REPORTS)
	$(BIN)/python -m conformance run --require-all \
		--adapter "$(BIN)/python -m conformance.adapters.refimpl" \
		--expectations conformance/expectations/refimpl.json \
		--json $(REPORTS)/refimpl.json --no-timings $(CONFORMANCE_ARGS)

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
	mkdir -p $(REPORTS); \
	$(BIN)/python -m conformance run --adapter "$(GRPC_GO_ADAPTER_DIR)/bin/grpc-go-adapter" \
		--expectations conformance/expectations/grpc-go.json \
		--json $(REPORTS)/grpc-go.json --no-timings $(CONFORMANCE_ARGS)

# The whole suite against @grpc/grpc-js's real balancers (conformance/adapters/grpc-js,
# pinned in its package-lock.json): npm ci, tsc, then every case, twice. The two JSON
# reports (written without wall-clock times, --no-timings) must be byte-identical: the adapter
# runs on virtual time and a seeded Math.random, so any difference is a bug.
# Without node and npm it says so and succeeds: `make check` never needs Node.
NPM ?= npm
NODE ?= node
GRPC_JS_ADAPTER_DIR := conformance/adapters/grpc-js
GRPC_JS_REPORTS := $(GRPC_JS_ADAPTER_DIR)/build/reports
.PHONY: conformance-grpc-js
conformance-grpc-js: $(STAMP)
	@if ! command -v $(NODE) >/dev/null 2>&1 || ! command -v $(NPM) >/dev/null 2>&1; then \
		echo "conformance-grpc-js: SKIPPED: Node.js is not installed ('$(NODE)' or '$(NPM)' is not on PATH);"; \
		echo "conformance-grpc-js: install Node.js (>= 18, with npm) to run the suite against grpc-js."; \
		exit 0; \
	fi; \
	set -e; \
	echo "conformance-grpc-js: building the adapter with node $$($(NODE) --version), npm $$($(NPM) --version)"; \
	$(NPM) --prefix $(GRPC_JS_ADAPTER_DIR) ci --no-audit --no-fund --loglevel=error; \
	$(NPM) --prefix $(GRPC_JS_ADAPTER_DIR) run --silent build; \
	mkdir -p $(GRPC_JS_REPORTS) $(REPORTS); \
	for run in 1 2; do \
		$(BIN)/python -m conformance run --adapter "$(NODE) $(GRPC_JS_ADAPTER_DIR)/build/main.js" \
			--expectations conformance/expectations/grpc-js.json \
			--json $(GRPC_JS_REPORTS)/run$$run.json --no-timings $(CONFORMANCE_ARGS); \
	done; \
	cmp $(GRPC_JS_REPORTS)/run1.json $(GRPC_JS_REPORTS)/run2.json || { \
		echo "conformance-grpc-js: the two runs gave different reports"; exit 1; }; \
	cp $(GRPC_JS_REPORTS)/run1.json $(REPORTS)/grpc-js.json; \
	echo "conformance-grpc-js: two runs, byte-identical JSON reports ($(REPORTS)/grpc-js.json)"

# The whole suite against grpc-java's real balancers (conformance/adapters/grpc-java, pinned to
# grpc-java 1.85.1 through io.grpc:grpc-bom in its pom.xml), once per pick_first grpc-java ships:
# the leaf policy and the legacy one (1.85.1's production default). Each variant runs twice and the
# two JSON reports (written without wall-clock times, --no-timings) must be byte-identical (virtual
# time, seeded randomness). Needs java and mvn; Maven fetches the jars on
# first use (MVN="mvn -o" after that runs offline). Without them it says so and succeeds.
JAVA ?= java
MVN ?= mvn
GRPC_JAVA_ADAPTER_DIR := conformance/adapters/grpc-java
GRPC_JAVA_REPORTS := $(GRPC_JAVA_ADAPTER_DIR)/target/reports
# A short-lived, single-threaded adapter (restarted after each ERROR case): the C1 compiler alone
# and the serial collector get it going sooner (per variant 25.0 s -> 19.7 s on a loaded 2-core box).
GRPC_JAVA_JVM_FLAGS ?= -XX:TieredStopAtLevel=1 -XX:+UseSerialGC
.PHONY: conformance-grpc-java
conformance-grpc-java: $(STAMP)
	@for tool in $(firstword $(JAVA)) $(firstword $(MVN)); do \
		if ! command -v $$tool >/dev/null 2>&1; then \
			echo "conformance-grpc-java: SKIPPED: '$$tool' is not on PATH;"; \
			echo "conformance-grpc-java: install a JDK (17+) and Maven to run the suite against grpc-java."; \
			exit 0; \
		fi; \
	done; \
	set -e; \
	echo "conformance-grpc-java: building the adapter with $$($(MVN) -B -v 2>/dev/null | grep -o 'Apache Maven [0-9.]*') and $$($(JAVA) -version 2>&1 | head -1)"; \
	$(MVN) -B -q -f $(GRPC_JAVA_ADAPTER_DIR)/pom.xml compile dependency:build-classpath \
		-Dmdep.outputFile=target/classpath.txt; \
	classpath="$(GRPC_JAVA_ADAPTER_DIR)/target/classes:$$(cat $(GRPC_JAVA_ADAPTER_DIR)/target/classpath.txt)"; \
	mkdir -p $(GRPC_JAVA_REPORTS) $(REPORTS); \
	for variant in leaf legacy; do \
		for run in 1 2; do \
			echo "conformance-grpc-java: pick_first $$variant, run $$run"; \
			status=0; \
			$(BIN)/python -m conformance run \
				--adapter "$(JAVA) $(GRPC_JAVA_JVM_FLAGS) -cp $$classpath conformance.grpcjava.Main --pick-first=$$variant" \
				--expectations conformance/expectations/grpc-java-$$variant.json \
				--json $(GRPC_JAVA_REPORTS)/$$variant-$$run.json --no-timings $(CONFORMANCE_ARGS) \
				> $(GRPC_JAVA_REPORTS)/$$variant-$$run.txt || status=$$?; \
			if [ $$run = 1 ] || [ $$status != 0 ]; then cat $(GRPC_JAVA_REPORTS)/$$variant-$$run.txt; \
			else tail -n 1 $(GRPC_JAVA_REPORTS)/$$variant-$$run.txt; fi; \
			[ $$status = 0 ] || exit $$status; \
		done; \
		cmp $(GRPC_JAVA_REPORTS)/$$variant-1.json $(GRPC_JAVA_REPORTS)/$$variant-2.json || { \
			echo "conformance-grpc-java: pick_first $$variant: the two runs gave different reports"; \
			exit 1; }; \
		report=$(REPORTS)/grpc-java$$([ $$variant = leaf ] || echo -$$variant).json; \
		cp $(GRPC_JAVA_REPORTS)/$$variant-1.json $$report; \
		echo "conformance-grpc-java: pick_first $$variant: two runs, byte-identical JSON reports ($$report)"; \
	done

# Bounded exhaustive exploration (docs/explore.md): the README's table of what has been
# explored exhaustively, one row per line; each row is a few minutes on two cores.  The last
# six key states on the reference's own state too (--implementation-state): shallower where
# endpoint sharding's state multiplies the states.
# EXPLORE_ARGS adds options (--jobs 2, --out DIR...).
.PHONY: explore
explore: $(STAMP)
	$(BIN)/python -m conformance explore --policy pick_first --in-process --endpoints 3 --depth 6 $(EXPLORE_ARGS)
	$(BIN)/python -m conformance explore --policy pick_first --in-process --endpoints 3 --depth 6 \
		--spec-option pick_first.selected_address_removed=reconnects $(EXPLORE_ARGS)
	$(BIN)/python -m conformance explore --policy round_robin --in-process --endpoints 3 --depth 10 $(EXPLORE_ARGS)
	$(BIN)/python -m conformance explore --policy round_robin --in-process --endpoints 3 --depth 6 --health-checking $(EXPLORE_ARGS)
	$(BIN)/python -m conformance explore --policy weighted_round_robin --in-process --endpoints 2 --depth 9 \
		--config '{"enableOobLoadReport": true}' $(EXPLORE_ARGS)
	$(BIN)/python -m conformance explore --policy least_request_experimental --in-process --endpoints 2 --depth 8 $(EXPLORE_ARGS)
	$(BIN)/python -m conformance explore --policy pick_first --in-process --endpoints 3 --depth 6 \
		--implementation-state $(EXPLORE_ARGS)
	$(BIN)/python -m conformance explore --policy pick_first --in-process --endpoints 3 --depth 6 \
		--spec-option pick_first.selected_address_removed=reconnects --implementation-state $(EXPLORE_ARGS)
	$(BIN)/python -m conformance explore --policy round_robin --in-process --endpoints 3 --depth 6 \
		--implementation-state $(EXPLORE_ARGS)
	$(BIN)/python -m conformance explore --policy round_robin --in-process --endpoints 3 --depth 5 --health-checking \
		--implementation-state $(EXPLORE_ARGS)
	$(BIN)/python -m conformance explore --policy weighted_round_robin --in-process --endpoints 2 --depth 6 \
		--config '{"enableOobLoadReport": true}' --implementation-state $(EXPLORE_ARGS)
	$(BIN)/python -m conformance explore --policy least_request_experimental --in-process --endpoints 2 --depth 7 \
		--implementation-state $(EXPLORE_ARGS)

# Bounded exhaustive exploration of the real implementations (docs/explore_implementations.md):
# the rows of that page, `explore --keep-going` through each adapter, so that a violation (these
# implementations have known ones at depth 1) is recorded and not extended, and the search goes on.
# Each row's result (classes of violations, each with its shortest case; no wall-clock times, so
# a re-run writes the same bytes) goes to $(REPORTS)/explore/<implementation>-<policy>-k<K>-d<N>.json,
# committed: a new or vanished class shows as a diff. Exit status 1 (violations found) is the
# expected outcome of a row; 2 (bad input, an adapter that cannot be explored) fails the target.
# Rows are POLICY:ENDPOINTS:DEPTH. Without node (java and mvn) they say SKIPPED and succeed.
EXPLORE_REPORTS := $(REPORTS)/explore
GRPC_JS_EXPLORE_ROWS ?= pick_first:3:6 round_robin:2:7 round_robin:3:5 weighted_round_robin:2:7
GRPC_JAVA_LEAF_EXPLORE_ROWS ?= pick_first:3:6 round_robin:2:7 round_robin:3:5 \
	weighted_round_robin:2:8 least_request_experimental:2:7
GRPC_JAVA_LEGACY_EXPLORE_ROWS ?= pick_first:3:6 round_robin:3:5
# explore_rows NAME ADAPTER-COMMAND OUT-DIR ROWS: one `explore --keep-going` per row.
define explore_rows
	for row in $(4); do \
		policy=$${row%%:*}; rest=$${row#*:}; k=$${rest%%:*}; d=$${rest#*:}; \
		name=$$policy-k$$k-d$$d; out=$(3)/$(1)-$$name; status=0; \
		echo "$(1): $$policy, $$k endpoints, depth $$d"; started=$$(date +%s); \
		$(BIN)/python -m conformance explore --policy $$policy --endpoints $$k --depth $$d \
			--keep-going --no-timings --adapter "$(2)" --out $$out $(EXPLORE_ARGS) \
			> $$out.txt || status=$$?; \
		grep -v '^explore: wrote' $$out.txt; \
		echo "$(1)-$$name: $$(( $$(date +%s) - started )) s wall clock"; \
		[ $$status -le 1 ] || exit $$status; \
		cp $$out/explore-$$name.json $(EXPLORE_REPORTS)/$(1)-$$name.json; \
	done
endef
.PHONY: explore-grpc-js explore-grpc-java
explore-grpc-js: $(STAMP)
	@if ! command -v $(NODE) >/dev/null 2>&1 || ! command -v $(NPM) >/dev/null 2>&1; then \
		echo "explore-grpc-js: SKIPPED: Node.js is not installed ('$(NODE)' or '$(NPM)' is not on PATH)"; \
		exit 0; \
	fi; \
	set -e; \
	$(NPM) --prefix $(GRPC_JS_ADAPTER_DIR) ci --no-audit --no-fund --loglevel=error; \
	$(NPM) --prefix $(GRPC_JS_ADAPTER_DIR) run --silent build; \
	mkdir -p $(GRPC_JS_ADAPTER_DIR)/build/explore $(EXPLORE_REPORTS); \
	$(call explore_rows,grpc-js,$(NODE) $(GRPC_JS_ADAPTER_DIR)/build/main.js,$(GRPC_JS_ADAPTER_DIR)/build/explore,$(GRPC_JS_EXPLORE_ROWS))

explore-grpc-java: $(STAMP)
	@for tool in $(firstword $(JAVA)) $(firstword $(MVN)); do \
		if ! command -v $$tool >/dev/null 2>&1; then \
			echo "explore-grpc-java: SKIPPED: '$$tool' is not on PATH (a JDK 17+ and Maven are needed)"; \
			exit 0; \
		fi; \
	done; \
	set -e; \
	$(MVN) -B -q -f $(GRPC_JAVA_ADAPTER_DIR)/pom.xml compile dependency:build-classpath \
		-Dmdep.outputFile=target/classpath.txt; \
	classpath="$(GRPC_JAVA_ADAPTER_DIR)/target/classes:$$(cat $(GRPC_JAVA_ADAPTER_DIR)/target/classpath.txt)"; \
	java="$(JAVA) $(GRPC_JAVA_JVM_FLAGS) -cp $$classpath conformance.grpcjava.Main"; \
	mkdir -p $(GRPC_JAVA_ADAPTER_DIR)/target/explore $(EXPLORE_REPORTS); \
	$(call explore_rows,grpc-java-leaf,$$java --pick-first=leaf,$(GRPC_JAVA_ADAPTER_DIR)/target/explore,$(GRPC_JAVA_LEAF_EXPLORE_ROWS)); \
	$(call explore_rows,grpc-java-legacy,$$java --pick-first=legacy,$(GRPC_JAVA_ADAPTER_DIR)/target/explore,$(GRPC_JAVA_LEGACY_EXPLORE_ROWS))

# Three local servers (127.0.0.1) and each reference policy's traffic split;
# `$(BIN)/python -m refimpl.demo --compare` puts grpcio's own policies beside them.
demo: $(STAMP)
	$(BIN)/python -m refimpl.demo

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis

# Every generated Mermaid diagram through Mermaid's own parser (tests/mermaid: pinned in
# its package-lock.json, installed only into tests/mermaid/node_modules). Needs Node;
# without it says SKIPPED and succeeds. With it, a diagram that does not parse, or that
# shows other states or edges than the spec's tables, fails (REQUIRE_MERMAID=1: no skip).
NODE ?= node
NPM ?= npm
MERMAID_DIR := tests/mermaid
.PHONY: check-diagrams
check-diagrams: $(STAMP)
	@if ! command -v $(NODE) >/dev/null 2>&1 || ! command -v $(NPM) >/dev/null 2>&1; then \
		echo "check-diagrams: SKIPPED: Node or npm is not installed ('$(NODE)', '$(NPM)' not on PATH)"; \
		exit 0; \
	fi; \
	set -e; \
	$(NPM) --prefix $(MERMAID_DIR) ci --no-audit --no-fund --loglevel=error; \
	REQUIRE_MERMAID=1 $(BIN)/python -m pytest -q tests/spec/test_mermaid_diagrams.py

# The quick-start adapter (conformance/adapters/quickstart-js: a toy pick_first in plain
# Node) on the first pick_first cases it must pass. --require-all: every listed case must
# run (a SKIPPED case fails), and filters that select nothing are an error, so this never
# passes vacuously. Without Node it says SKIPPED and succeeds.
QUICKSTART_ADAPTER := conformance/adapters/quickstart-js/adapter.js
QUICKSTART_CASES := pf-pick-before-any-update-queues pf-connects-first-address-only \
	pf-one-address-down-uses-next pf-ready-address-takes-every-pick pf-all-addresses-fail \
	pf-close-shuts-down-subchannels pf-endpoint-addresses-flattened-in-order \
	pf-completions-cause-no-outputs
.PHONY: conformance-quickstart
conformance-quickstart: $(STAMP)
	@if ! command -v $(NODE) >/dev/null 2>&1; then \
		echo "conformance-quickstart: SKIPPED: Node is not installed ('$(NODE)' is not on PATH)"; \
		exit 0; \
	fi; \
	$(BIN)/python -m conformance run --require-all --adapter "$(NODE) $(QUICKSTART_ADAPTER)" \
		$(foreach c,$(QUICKSTART_CASES),--id $(c)) $(CONFORMANCE_ARGS)

# Mutation testing of the conformance corpus (issue 15; not part of `make check`): Cosmic Ray
# mutates each refimpl policy module in a copy of the tree under build/mutation/ and runs the
# whole corpus in-process per mutant. Cosmic Ray is installed here, pinned, not in the dev
# group: `make check` never needs it. MUTATION_MODULES picks modules (default: all).
COSMIC_RAY_VERSION := 8.7.0
.PHONY: mutation
mutation: $(STAMP)
	$(BIN)/python -m pip install --quiet "cosmic-ray==$(COSMIC_RAY_VERSION)"
	$(BIN)/python -m conformance.mutation run $(MUTATION_MODULES)
