#!/usr/bin/env bash
# The full test suite: installs the Python tools it drives (cfn-lint, checkov, moto, awscli)
# into .venv, starts a local moto server on 127.0.0.1, and runs every Rust test and doctest.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
ensure_venv
ensure_moto
trap stop_moto EXIT
cargo test --workspace --all-targets "$@"
cargo test --workspace --doc "$@"
