#!/usr/bin/env bash
# Builds tests/outside, a crate outside the workspace that depends on cfn-core and
# cfn-resources by path with only `sqs` and `dynamodb`, runs it, and checks that exactly those
# services were compiled and the template holds both resources. Prints the build time.
#   scripts/outside-crate.sh [--locked]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export CARGO_TARGET_DIR="${OUTSIDE_TARGET_DIR:-$root/target/outside}"
start=$(date +%s%N)
cargo build --quiet "$@" --manifest-path "$root/tests/outside/Cargo.toml"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
out="$(cargo run --quiet "$@" --manifest-path "$root/tests/outside/Cargo.toml")"
services="$(printf '%s\n' "$out" | sed -n 's/^services: //p')"
if [ "$services" != "dynamodb,sqs" ]; then
    echo "outside crate compiled services '$services', expected 'dynamodb,sqs'" >&2
    exit 1
fi
for t in AWS::SQS::Queue AWS::DynamoDB::Table; do
    printf '%s\n' "$out" | grep -q "\"$t\"" || { echo "no $t in the outside template" >&2; exit 1; }
done
echo "outside crate (sqs, dynamodb only): built in $((ms / 1000)).$(( (ms % 1000) / 100 )) s"
