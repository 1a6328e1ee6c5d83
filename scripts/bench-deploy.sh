#!/usr/bin/env bash
# Deploy benchmark: `starter-app deploy` against `aws cloudformation deploy` (awscli from PyPI),
# same template, same fresh moto server, three scenarios each: create a new stack, deploy with
# no changes, update (log retention 7 -> 30 days). Wall time is the median of RUNS runs;
# API calls are the requests moto logged during one run.
#
#   scripts/bench-deploy.sh            # RUNS=5 by default
#   RUNS=9 scripts/bench-deploy.sh
#
# Uses the venv of scripts/env.sh (or VENV=/path/to/venv) and builds starter-app in release.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
RUNS="${RUNS:-5}"
if [ ! -x "$VENV/bin/moto_server" ]; then
    ensure_venv
fi
AWS="$VENV/bin/aws"
cargo build --quiet --release -p starter-app -p multi-stack-app
APP="$ROOT/target/release/starter-app"
MULTI="$ROOT/target/release/multi-stack-app"

WORK="$(mktemp -d)"
PORT="$("$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
LOG="$WORK/moto.log"
"$VENV/bin/python" scripts/moto_server.py -H 127.0.0.1 -p "$PORT" >"$LOG" 2>&1 &
MOTO=$!
trap 'kill $MOTO 2>/dev/null || true; rm -rf "$WORK"' EXIT
ENDPOINT="http://127.0.0.1:$PORT"
for _ in $(seq 1 100); do
    curl -fsS "$ENDPOINT/moto-api/" >/dev/null 2>&1 && break
    sleep 0.1
done

export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_EC2_METADATA_DISABLED=true
export AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1

requests() { grep -cE '" [0-9]{3} ' "$LOG" || true; }
now_ms() { date +%s%3N; }

# A fresh moto on its own port for one multi-stack run (stack names are the example's, fixed);
# prints the endpoint, its pid in $WORK/multi-moto.pid.
fresh_moto() {
    local port
    port="$("$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    "$VENV/bin/python" scripts/moto_server.py -H 127.0.0.1 -p "$port" >"$WORK/multi-moto.log" 2>&1 &
    echo $! >"$WORK/multi-moto.pid"
    for _ in $(seq 1 100); do
        curl -fsS "http://127.0.0.1:$port/moto-api/" >/dev/null 2>&1 && break
        sleep 0.1
    done
    echo "http://127.0.0.1:$port"
}

# multi_one <tool>: ms to create the example's three stacks (dev) on a fresh moto. Ours:
# `deploy dev --all --yes` (Storage and Data side by side, then Worker, asset uploaded).
# awscli: the asset copied to the bucket, then `cloudformation deploy` of each in order.
multi_one() {
    local endpoint t0 t1
    endpoint="$(fresh_moto)"
    "$MULTI" synth dev --out "$WORK/m" >/dev/null 2>&1
    t0="$(now_ms)"
    if [ "$1" = theirs ]; then
        local bucket=cfn-deploy-staging-123456789012-us-east-1 zip
        zip="$(basename "$(ls "$WORK"/m/asset.*.zip)")"
        "$AWS" --endpoint-url "$endpoint" s3 mb "s3://$bucket" >/dev/null
        "$AWS" --endpoint-url "$endpoint" s3 cp "$WORK/m/$zip" "s3://$bucket/assets/${zip#asset.}" >/dev/null
        for s in DevStorage DevData DevWorker; do
            "$AWS" --endpoint-url "$endpoint" cloudformation deploy \
                --template-file "$WORK/m/$s.template.json" --stack-name "$s" \
                --capabilities CAPABILITY_IAM --no-fail-on-empty-changeset >"$WORK/out.txt" 2>&1 \
                || { cat "$WORK/out.txt"; exit 1; }
        done
    else
        AWS_ENDPOINT_URL="$endpoint" "$MULTI" deploy dev --all --yes >"$WORK/out.txt" 2>&1 \
            || { cat "$WORK/out.txt"; exit 1; }
    fi
    t1="$(now_ms)"
    kill "$(cat "$WORK/multi-moto.pid")" 2>/dev/null || true
    echo "$((t1 - t0))"
}

# config <stack> <retention>: a one-environment starter.toml, env name = lowercase stack.
config() {
    local env
    env="$(echo "$1" | tr 'A-Z' 'a-z')"
    cat >"$WORK/$1.toml" <<EOF
app = "starter"
[[environment]]
name = "$env"
stack = "$1"
region = "us-east-1"
retention_days = $2
EOF
    echo "$WORK/$1.toml"
}

# ours <stack> <retention>
ours() {
    local env
    env="$(echo "$1" | tr 'A-Z' 'a-z')"
    STARTER_CONFIG="$(config "$1" "$2")" AWS_ENDPOINT_URL="$ENDPOINT" \
        "$APP" deploy "$env" --yes >"$WORK/out.txt" 2>&1
}

# time_one <tool> <stack> <retention>: prints "<ms> <requests>"
time_one() {
    if [ "$1" = theirs ]; then
        # awscli reads a file ours synthesizes; synthesize first so only the deploy is timed
        local env
        env="$(echo "$2" | tr 'A-Z' 'a-z')"
        STARTER_CONFIG="$(config "$2" "$3")" "$APP" synth "$env" --out "$WORK/t" >/dev/null 2>&1
    fi
    local r0 t0 t1 r1
    r0="$(requests)"
    t0="$(now_ms)"
    if [ "$1" = theirs ]; then
        "$AWS" --endpoint-url "$ENDPOINT" cloudformation deploy \
            --template-file "$WORK/t/$2.template.json" --stack-name "$2" \
            --capabilities CAPABILITY_IAM CAPABILITY_NAMED_IAM \
            --tags app=starter "env=$(echo "$2" | tr 'A-Z' 'a-z')" version=0.1.0 \
            --no-fail-on-empty-changeset >"$WORK/out.txt" 2>&1 || { cat "$WORK/out.txt"; exit 1; }
    else
        ours "$2" "$3" || { cat "$WORK/out.txt"; exit 1; }
    fi
    t1="$(now_ms)"
    sleep 0.2 # let moto flush its request log
    r1="$(requests)"
    echo "$((t1 - t0)) $((r1 - r0))"
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

declare -A MS CALLS
for tool in ours theirs; do
    for scenario in create nochange update; do : >"$WORK/$tool-$scenario"; done
    for i in $(seq 1 "$RUNS"); do
        stack="Bench${tool^}$i"
        read -r ms calls < <(time_one "$tool" "$stack" 7)
        echo "$ms" >>"$WORK/$tool-create"; CALLS[$tool-create]="$calls"
        read -r ms calls < <(time_one "$tool" "$stack" 7)
        echo "$ms" >>"$WORK/$tool-nochange"; CALLS[$tool-nochange]="$calls"
        read -r ms calls < <(time_one "$tool" "$stack" 30)
        echo "$ms" >>"$WORK/$tool-update"; CALLS[$tool-update]="$calls"
    done
    for scenario in create nochange update; do
        MS[$tool-$scenario]="$(median <"$WORK/$tool-$scenario")"
    done
done

echo "deploy benchmark: moto $("$VENV/bin/python" -c 'import moto; print(moto.__version__)'), $("$AWS" --version 2>&1 | cut -d' ' -f1), median of $RUNS runs, $(nproc) cores"
printf '%-10s %18s %18s %8s %14s %14s\n' scenario "starter-app (ms)" "awscli (ms)" ratio "calls (ours)" "calls (awscli)"
for scenario in create nochange update; do
    o="${MS[ours-$scenario]}"; t="${MS[theirs-$scenario]}"
    printf '%-10s %18s %18s %8s %14s %14s\n' "$scenario" "$o" "$t" \
        "$(awk -v o="$o" -v t="$t" 'BEGIN {printf "%.2f", o / t}')" \
        "${CALLS[ours-$scenario]}" "${CALLS[theirs-$scenario]}"
done

for tool in ours theirs; do
    : >"$WORK/$tool-multi"
    for i in $(seq 1 "$RUNS"); do
        multi_one "$tool" >>"$WORK/$tool-multi"
    done
done
o="$(median <"$WORK/ours-multi")"; t="$(median <"$WORK/theirs-multi")"
printf '%-10s %18s %18s %8s   (multi-stack-app deploy dev --all: 3 stacks, 1 asset)\n' "multi" "$o" "$t" \
    "$(awk -v o="$o" -v t="$t" 'BEGIN {printf "%.2f", o / t}')"
