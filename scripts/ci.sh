#!/usr/bin/env bash
# The project's one test command, on a fresh machine or a used one: brings up the test
# environment (Docker engine, loopback registries), then formatting, lints and every test.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/test-env.sh start
cargo fmt --all -- --check
cargo clippy --all-targets --locked -- -D warnings
cargo test --locked
