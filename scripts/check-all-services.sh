#!/usr/bin/env bash
# Compiles every registry type: `cargo check` of cfn-resources with every service feature, in
# batches. One `--features all` check peaks at 13.6 GB of RAM (1.2 M generated lines in one
# crate); batches of BATCH services keep the peak near that of the largest batch.
#   scripts/check-all-services.sh [--locked]      (BATCH=60 by default)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
batch="${BATCH:-60}"
mapfile -t services < <(find "$root/constructs/resources/schemas" -mindepth 1 -maxdepth 1 -type d -printf '%f\n' | sort)
total=${#services[@]}
for ((i = 0; i < total; i += batch)); do
    features="$(IFS=,; echo "${services[*]:i:batch}")"
    last=$((i + batch > total ? total : i + batch))
    echo "checking services $((i + 1))-$last of $total"
    cargo check --quiet "$@" -p cfn-resources --no-default-features --features "$features"
done
echo "all $total services compile"
