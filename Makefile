# Cadre's two set-up commands are `make run` and `make test` (see README.md).
# Every target installs what it needs (idempotently) and says what it is doing.

SHELL := /bin/bash
CARGO ?= cargo
BIN := target/release/cadre
DEMO_TASK ?= Compare the first 20 Fibonacci numbers with the first 20 primes

.PHONY: run demo test build web api-types bench deps services lint doc deny clean e2e schemathesis fuzz-smoke faults soak

## deps: system packages the code sandbox needs (bubblewrap, util-linux, python3; docker.io
##       and debootstrap for the docker backend) and the OpenAPI test tool
##       (openapi-spec-validator, via pip)
deps:
	@scripts/ensure-deps.sh

## web: the web UI (web/dist): npm packages, type check, Vite build
web:
	@scripts/ensure-web.sh
	@echo "==> building the web UI into web/dist"
	cd web && npm run --silent build

## build: the web UI, then the release binary at target/release/cadre with the UI embedded
build: deps web
	$(CARGO) build --release --locked -p cadre-cli

## run: build, then start `cadre serve` (UI, API + worker, SQLite in the data dir) on CADRE_BIND
##      (the offline demo model is paced like a real one, 400 ms an answer, so its runs can
##      be watched; CADRE_SCRIPTED_DELAY_MS=0 makes it instant)
run: build
	@echo "==> starting cadre serve: UI on http://$${CADRE_BIND:-127.0.0.1:8080} (API docs at /docs; Ctrl-C stops)"
	CADRE_SCRIPTED_DELAY_MS=$${CADRE_SCRIPTED_DELAY_MS:-400} $(BIN) serve

## demo: build, then play the offline demo team in the terminal
demo: build
	$(BIN) run --model demo "$(DEMO_TASK)"

## lint: formatting and clippy, warnings are errors; the web app type-checks and lints
lint:
	@echo "==> lint: rustfmt check, clippy (warnings are errors), the web app's types and ESLint"
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --all-features --locked -- -D warnings
	@scripts/ensure-web.sh
	cd web && npm run --silent typecheck && npm run --silent lint

## doc: the API docs of every crate (cargo doc, no dependencies), warnings are errors
##      (broken or private intra-doc links, bad markup)
doc:
	@echo "==> cargo doc: the workspace's API docs, warnings are errors"
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --workspace --no-deps --all-features --locked

## deny: the dependency policy in deny.toml (cargo-deny, installed if missing): licenses,
##       bans, sources, and advisories when the RustSec database is at hand (see
##       CONTRIBUTING.md)
deny:
	@CARGO="$(CARGO)" scripts/ensure-cargo-deny.sh
	@CARGO="$(CARGO)" scripts/deny.sh

## api-types: regenerate the web UI's API types from the server's OpenAPI document
api-types:
	$(CARGO) build --locked -p cadre-cli
	@scripts/api-types.sh write

## services: PostgreSQL and Redis on 127.0.0.1 for the integration tests
services:
	@scripts/ensure-services.sh >/dev/null

## test: everything CI runs (starts PostgreSQL and Redis if they are not running): the
##       web UI's build (the debug binary serves web/dist), lints, the API docs, the
##       dependency policy, the Rust suites, Schemathesis against the API's own OpenAPI
##       document (scripts/schemathesis.sh), the fuzz targets' smoke run
##       (scripts/fuzz-smoke.sh), the API types' staleness check, the UI's unit
##       tests (Vitest), then the browser tests (web/e2e, Debian's Chromium) against the
##       debug `cadre` binary. deploy/ is validated first (deploy-check) and its compose
##       stack smoke-tested after the Rust suites (deploy-smoke, on the debug binary; it
##       needs root: CADRE_DEPLOY_SMOKE=skip leaves it to a job that has it).
##       The docker backend's tests start their own dockerd per test
##       binary (stopped when it ends); CADRE_REQUIRE_DOCKER=1 makes them fail, not skip,
##       when it cannot run
test: deps web lint doc deny deploy-check
	eval "$$(scripts/ensure-services.sh)" && CADRE_REQUIRE_DOCKER=1 $(CARGO) test --workspace --all-features --locked
	@if [ "$${CADRE_DEPLOY_SMOKE:-run}" = skip ]; then echo "==> deploy smoke test skipped (CADRE_DEPLOY_SMOKE=skip)"; else CADRE_BINARY=target/debug/cadre deploy/smoke.sh; fi
	@scripts/schemathesis.sh
	@CARGO="$(CARGO)" scripts/fuzz-smoke.sh
	@scripts/api-types.sh check
	cd web && npm run --silent test
	@scripts/ensure-web.sh --browser
	cd web && CADRE_BIN=../target/debug/cadre npx playwright test

## schemathesis: property-based API test from /openapi.json against a fresh `cadre serve`
##               (the debug binary): no 5xx, every response as documented
schemathesis:
	$(CARGO) build --locked -p cadre-cli
	@scripts/schemathesis.sh

## fuzz-smoke: the fuzz targets in fuzz/ for FUZZ_SECONDS (20) each over their seed corpus
##             (cargo-fuzz installed if missing; see fuzz/README.md)
fuzz-smoke:
	@CARGO="$(CARGO)" scripts/fuzz-smoke.sh

## e2e: only the browser tests (needs target/debug/cadre: `cargo build -p cadre-cli`)
e2e:
	@scripts/ensure-web.sh --browser
	cd web && npm run --silent build
	cd web && CADRE_BIN=../target/debug/cadre npx playwright test

## faults: the fault-injection scenarios (bench/src/faults: kill -9 of workers, API
##         restarts under 100 streams, Redis and PostgreSQL crashes, a full disk) on a
##         deployment of their own; fails if a run was lost, repeated or left hanging.
##         Minutes, and root (the disk scenario mounts a tmpfs): not part of `make test`
faults: deps
	$(CARGO) build --release --locked -p cadre-bench -p cadre-cli
	target/release/cadre-bench faults

## soak: 10 minutes of 100 concurrent runs and 1,000 stream clients on the fault
##       scenarios' deployment; fails if memory or open files grow (CADRE_SOAK_SECS)
soak: deps
	$(CARGO) build --release --locked -p cadre-bench -p cadre-cli
	target/release/cadre-bench faults soak

## bench: end-to-end benchmarks; results go to bench/BENCHMARKS.md by hand
bench: deps
	$(CARGO) build --release --locked -p cadre-bench -p cadre-cli
	target/release/cadre-bench

clean:
	$(CARGO) clean

.PHONY: deploy-check deploy-smoke

## deploy-check: validates deploy/ and .github/workflows offline (compose config, promtool
##               config/rules/unit tests, dashboard and alert metrics against the contract,
##               kubernetes-validate, the workflow schema, yamllint); installs its tools
##               (scripts/ensure-deploy-tools.sh)
deploy-check:
	@scripts/check-deploy.sh

## deploy-smoke: the offline end-to-end test of the compose stack (root; deploy/smoke.sh):
##               own dockerd, locally built images, api x2 + worker x2 behind nginx, a demo
##               run streamed across api restarts, Prometheus targets and rules; torn down
##               after. CADRE_BINARY=path picks the binary (default target/release/cadre,
##               else target/debug/cadre)
deploy-smoke:
	@deploy/smoke.sh
