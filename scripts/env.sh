# Shared by scripts/test.sh and .ci/run: the Python tools venv and the local moto server.
# Source it; it defines functions and exports, it runs nothing by itself.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
MOTO_PORT="${MOTO_PORT:-5055}"

# Creates the venv and installs the pinned tools, once per requirements change.
ensure_venv() {
    local stamp="$VENV/.requirements.sha"
    local want
    want="$(sha256sum "$ROOT/scripts/requirements-ci.txt" | cut -d' ' -f1)"
    if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
        echo "==> installing Python tools into $VENV (cfn-lint, checkov, moto, awscli)"
        python3 -m venv "$VENV"
        "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$ROOT/scripts/requirements-ci.txt"
        echo "$want" > "$stamp"
    fi
    export CFN_LINT="$VENV/bin/cfn-lint"
    export PYTHON="$VENV/bin/python"
    export CHECKOV="$VENV/bin/checkov"
    export AWS_CLI="$VENV/bin/aws"
    export CFN_SCHEMAS_DIR
    CFN_SCHEMAS_DIR="$("$VENV/bin/python" -c 'import cfnlint, os; print(os.path.join(os.path.dirname(cfnlint.__file__), "data", "schemas"))')"
}

# Starts moto on 127.0.0.1 unless one already answers there; exports MOTO_ENDPOINT.
ensure_moto() {
    export MOTO_ENDPOINT="http://127.0.0.1:$MOTO_PORT"
    if curl -fsS "$MOTO_ENDPOINT/moto-api/" >/dev/null 2>&1; then
        return
    fi
    # moto with the exports of executed change sets registered (scripts/moto_server.py)
    "$VENV/bin/python" "$ROOT/scripts/moto_server.py" -H 127.0.0.1 -p "$MOTO_PORT" >"${TMPDIR:-/tmp}/moto-$MOTO_PORT.log" 2>&1 &
    MOTO_PID=$!
    for _ in $(seq 1 100); do
        if curl -fsS "$MOTO_ENDPOINT/moto-api/" >/dev/null 2>&1; then
            return
        fi
        sleep 0.1
    done
    echo "moto did not start on $MOTO_ENDPOINT; see ${TMPDIR:-/tmp}/moto-$MOTO_PORT.log" >&2
    return 1
}

stop_moto() {
    if [ -n "${MOTO_PID:-}" ]; then
        kill "$MOTO_PID" 2>/dev/null || true
        wait "$MOTO_PID" 2>/dev/null || true
    fi
}

# Installs the servers the artifact tests run for real (Debian's packages): squid (the SSRF
# proxy's command and config), redis-server with TLS (Celery and redis-py as Dify configures
# them), PostgreSQL (the migration's bootstrap and gate), and unshare/ip for the proxy test's
# private namespaces. Root only; a no-op when everything is there.
ensure_system_packages() {
    local missing=()
    [ -x /usr/sbin/squid ] || missing+=(squid)
    command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
    [ -n "$(ls /etc/postgresql 2>/dev/null)" ] || missing+=(postgresql)
    command -v ip >/dev/null 2>&1 || missing+=(iproute2)
    command -v unshare >/dev/null 2>&1 || missing+=(util-linux)
    command -v openssl >/dev/null 2>&1 || missing+=(openssl)
    if [ "${#missing[@]}" -gt 0 ]; then
        echo "==> installing ${missing[*]} (Debian packages) for the artifact tests"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
}

# Starts the machine's PostgreSQL (Debian's packages) for the migration bootstrap test, with a
# superuser the test uses to create its own roles and databases, and a stub `vector` extension
# when pgvector is not packaged (the test checks the bootstrap's SQL, not pgvector). Root only:
# it installs packages and writes into the server's extension directory. Exports PGTEST_*.
ensure_postgres() {
    # A machine may carry only the client (psql); the server brings a cluster in /etc/postgresql.
    if [ -z "$(ls /etc/postgresql 2>/dev/null)" ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    fi
    local ver ext
    ver="$(ls /etc/postgresql | sort -V | tail -n 1)"
    pg_ctlcluster "$ver" main start 2>/dev/null || true
    ext="/usr/share/postgresql/$ver/extension"
    if [ ! -f "$ext/vector.control" ]; then
        printf "comment = 'stub of pgvector for tests'\ndefault_version = '0.0.0'\nrelocatable = true\ntrusted = true\n" > "$ext/vector.control"
        echo "-- stub: no objects" > "$ext/vector--0.0.0.sql"
    fi
    runuser -u postgres -- psql -q -c "DO \$\$BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ci_admin') THEN CREATE ROLE ci_admin SUPERUSER LOGIN PASSWORD 'ci_admin'; END IF; END\$\$;" >/dev/null
    export PGTEST_HOST=127.0.0.1 PGTEST_PORT=5432 PGTEST_USER=ci_admin PGTEST_PASSWORD=ci_admin
}
