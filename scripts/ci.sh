#!/usr/bin/env bash
# The project's one test command, on a fresh machine or a used one: brings up the test
# environment (Docker engine, loopback registries), then formatting, lints and every test.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/test-env.sh start
cargo fmt --all -- --check
cargo clippy --all-targets --locked -- -D warnings
# The fuzz targets run for a bounded time from one fixed seed, so a run of CI is repeatable;
# set MCP_AUDIT_FUZZ_SEED to explore other inputs.
MCP_AUDIT_FUZZ_SEED=${MCP_AUDIT_FUZZ_SEED:-20261204} cargo test --locked
