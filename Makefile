# Cadre's two set-up commands are `make run` and `make test` (see README.md).
# Every target installs what it needs (idempotently) and says what it is doing.

SHELL := /bin/bash
CARGO ?= cargo
BIN := target/release/cadre
DEMO_TASK ?= Compare the first 20 Fibonacci numbers with the first 20 primes

.PHONY: run demo test build bench deps services lint clean e2e

## deps: system packages the code sandbox needs (bubblewrap, util-linux, python3) and the
##       OpenAPI test tool (openapi-spec-validator, via pip)
deps:
	@scripts/ensure-deps.sh

## build: the release binary at target/release/cadre
build: deps
	$(CARGO) build --release --locked -p cadre-cli

## run: build, then start `cadre serve` (API + worker, SQLite in the data dir) on CADRE_BIND
run: build
	@echo "==> starting cadre serve on http://$${CADRE_BIND:-127.0.0.1:8080} (API docs at /docs; Ctrl-C stops)"
	$(BIN) serve

## demo: build, then play the offline demo team in the terminal
demo: build
	$(BIN) run --model demo "$(DEMO_TASK)"

## lint: formatting and clippy, warnings are errors
lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --all-features --locked -- -D warnings

## services: PostgreSQL and Redis on 127.0.0.1 for the integration tests
services:
	@scripts/ensure-services.sh >/dev/null

## test: everything CI runs (starts PostgreSQL and Redis if they are not running): the
##       Rust suites, then the browser tests (web/e2e, Debian's Chromium) against the
##       debug `cadre` binary those suites built
test: deps lint
	eval "$$(scripts/ensure-services.sh)" && $(CARGO) test --workspace --all-features --locked
	@scripts/ensure-web.sh
	cd web && CADRE_BIN=../target/debug/cadre npx playwright test

## e2e: only the browser tests (needs target/debug/cadre: `cargo build -p cadre-cli`)
e2e:
	@scripts/ensure-web.sh
	cd web && CADRE_BIN=../target/debug/cadre npx playwright test

## bench: end-to-end benchmarks; results go to bench/BENCHMARKS.md by hand
bench: deps
	$(CARGO) build --release --locked -p cadre-bench -p cadre-cli
	target/release/cadre-bench

clean:
	$(CARGO) clean
