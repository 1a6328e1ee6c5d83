#!/usr/bin/env bash
# The full test suite: installs the Python tools it drives (cfn-lint, checkov, moto, awscli,
# pytest, celery, redis, alembic) into .venv and the servers the artifact tests run (squid,
# redis-server, PostgreSQL; Debian packages), starts moto and PostgreSQL on 127.0.0.1, runs
# every Rust test and doctest, builds a crate outside the workspace with only the services it
# names (scripts/outside-crate.sh), then the artifact tests (tests/artifact, pytest), which run what
# the synthesized templates hand to ECS and Lambda. A missing tool or server fails; nothing
# is skipped.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
ensure_venv
ensure_system_packages
ensure_postgres
ensure_moto
trap stop_moto EXIT
cargo test --workspace --all-targets "$@"
cargo test --workspace --doc "$@"
scripts/outside-crate.sh "$@"
# The fast edit loop (`cargo synth`: the deploy engine as a shared library) builds, runs, and
# writes exactly what the static binary wrote to cfn-out.
dylib_out="$(mktemp -d)"
cargo synth --out "$dylib_out" > /dev/null
diff -r cfn-out "$dylib_out"
rm -rf "$dylib_out"
"$VENV/bin/pytest" -q -p no:cacheprovider tests/artifact
