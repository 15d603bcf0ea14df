#!/usr/bin/env bash
# Drives every API route with schemathesis against a live server on a fresh
# database with the demo data, and fails on any finding:
#
#   - a 5xx answer, an answer (status, content type or body) the OpenAPI
#     document does not describe;
#   - a 4xx answer that changed anything in the database (checked around
#     every request; a wrong PIN may only count a try on the card, a wrong
#     password or PIN its guess; a session's last use is not watched);
#   - any change at all across a run of invalid requests only;
#   - a ledger that does not balance at the end.
#
# Usage: scripts/schemathesis.sh [sqlite|postgres] (or FUELCARD_ST_BACKEND;
# default sqlite). On SQLite the database is a fresh file under target/; on
# PostgreSQL a fresh database fuelcard_st_<pid>_<random> on the server in
# TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test), dropped
# at the end, after a failure too. The server runs with the same flags on
# both; the check around each request reads the same tables on both.
#
# Phases: valid requests as the admin and as a cashier (some naming the
# demo's real cards, companies and holds, so they reach the rules), then
# invalid requests only, then the chip
# routes (this server has no card reader), then logout with a token of its
# own. FUELCARD_ST_EXAMPLES sets the examples per operation (default 25:
# a few minutes a backend on a 2-core machine; the check around a request
# digests the tables again only when the database says something was
# written since the last digest),
# FUELCARD_ST_SEED the seed (default fixed, so a failure reproduces;
# "random" for a fresh one), FUELCARD_ST_CLOCK the instant the server's
# clock starts at (default a Wednesday morning mid-month, so that no
# Sunday, month end or midnight falls in the run and nothing is written in
# the background while a request is checked), FUELCARD_ST_CONTINUE=1 lists
# every finding rather than the first of each operation.
set -euo pipefail
cd "$(dirname "$0")/.."

backend="${1:-${FUELCARD_ST_BACKEND:-sqlite}}"
case "$backend" in
    sqlite | postgres) default_examples=25 ;;
    *) echo "usage: $0 [sqlite|postgres]" >&2; exit 2 ;;
esac

ST_VERSION=4.32.5
PSYCOPG_VERSION=3.3.9
venv=target/schemathesis-venv
examples="${FUELCARD_ST_EXAMPLES:-$default_examples}"
seed="${FUELCARD_ST_SEED:-20261123}"
clock="${FUELCARD_ST_CLOCK:-2026-11-18T10:00:00+08:00}"

# The pinned versions, or a fresh virtual environment with them (psycopg,
# with its own libpq, reads the PostgreSQL database around each request).
if ! "$venv/bin/st" --version 2>/dev/null | grep -qx "st, version $ST_VERSION" ||
    ! "$venv/bin/python" -c 'import psycopg; print(psycopg.__version__, psycopg.pq.__impl__)' 2>/dev/null |
    grep -qx "$PSYCOPG_VERSION binary"; then
    scripts/install-deps.sh python3 python3-venv
    python3 -m venv --clear "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check \
        "schemathesis==$ST_VERSION" "psycopg[binary]==$PSYCOPG_VERSION"
fi
py="$PWD/$venv/bin/python"
st="$PWD/$venv/bin/st"
hooks="$PWD/scripts/schemathesis_hooks.py"

cargo build --quiet --bin fuelcard
bin="$PWD/target/debug/fuelcard"

work="$(mktemp -d "$PWD/target/schemathesis-run.XXXXXX")"
log="$work/server.log"
server=""
pg_admin=""
db=""
cleanup() {
    if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
    if [ -n "$pg_admin" ] && [ -n "$db" ]; then
        "$py" "$hooks" pg-drop "$pg_admin" "$db" || echo "*** schemathesis: could not drop $db ***" >&2
    fi
    rm -rf "$work"
}
trap cleanup EXIT
fail() {
    echo "*** schemathesis: $* ***" >&2
    echo "--- server log (last 80 lines) ---" >&2
    tail -n 80 "$log" >&2 || true
    exit 1
}

if [ "$backend" = postgres ]; then
    pg_admin="${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}"
    db="$("$py" "$hooks" pg-create "$pg_admin" $$)" || fail "cannot create a database on the PostgreSQL server in TEST_DATABASE_URL"
else
    db="$work/fuelcard.db"
fi

# Holds placed during the run and its sessions outlive it, so the
# background release of expired holds and purge of idle sessions never
# change anything while a request is answered. The key file lies in the
# run's directory on both backends.
RUST_LOG=warn "$bin" serve --demo --db "$db" --key-file "$work/fuelcard-keys.toml" \
    --listen 127.0.0.1:0 --hold-minutes 1440 --session-idle-minutes 1440 \
    --clock "$clock" >"$log" 2>&1 &
server=$!
base=""
for _ in $(seq 300); do
    base="$(sed -n 's/^fuelcard listening on \(http:[^ ]*\).*/\1/p' "$log")"
    [ -n "$base" ] && break
    kill -0 "$server" 2>/dev/null || fail "the server did not start"
    sleep 0.1
done
[ -n "$base" ] || fail "the server did not say where it listens"
echo "schemathesis $ST_VERSION against $base on $backend (examples per operation: $examples, seed: $seed, clock from $clock)"

login() {
    "$py" - "$base" "$1" "$2" <<'EOF'
import sys, requests
r = requests.post(f"{sys.argv[1]}/api/v1/auth/login", json={"username": sys.argv[2], "password": sys.argv[3]}, timeout=30)
r.raise_for_status()
print(r.json()["token"])
EOF
}
admin="$(login admin admin-demo)" || fail "cannot log in as admin"
cashier="$(login cashier2 cashier2-demo)" || fail "cannot log in as cashier2"
logout_token="$(login cashier1 cashier1-demo)" || fail "cannot log in as cashier1"

export FUELCARD_ST_TODAY="${clock:0:10}"
"$py" "$hooks" real "$db" >"$work/real.json"
export SCHEMATHESIS_HOOKS=schemathesis_hooks PYTHONPATH="$PWD/scripts" FUELCARD_ST_DB="$db"

seed_args=()
[ "$seed" = random ] || seed_args=(--seed "$seed")
checks=not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,refusal_changes_nothing
st_run() {
    local name="$1" started=$SECONDS
    shift
    echo "== $name"
    # Run from the temporary directory: schemathesis keeps a cache there.
    if ! (cd "$work" && "$st" run "$base/api/openapi.json" --checks "$checks" --workers 1 \
        --generation-database none --no-color --request-timeout 30 "${seed_args[@]}" "$@" \
        ${FUELCARD_ST_CONTINUE:+--continue-on-failure}) >"$work/$name.log" 2>&1; then
        cat "$work/$name.log"
        fail "$name: findings above"
    fi
    sed -n '/^=* SUMMARY =*$/,$p' "$work/$name.log" | grep -E "Tested:|Test cases:|generated|passed|failures|Seed" || true
    echo "  ($((SECONDS - started)) s)"
}

# Logout ends the session it is sent with; the chip routes need a card
# reader, which this server has not: both have runs of their own.
own_runs=(--exclude-path /api/v1/auth/logout --exclude-path-regex '^/api/v1/chip/')

# 1. Valid requests, stateful sequences included; some name real things.
FUELCARD_ST_REAL="$work/real.json" st_run valid --mode positive --max-examples "$examples" \
    -H "Authorization: Bearer $admin" "${own_runs[@]}"

#    Again as a cashier, who works at a station of their own.
FUELCARD_ST_REAL="$work/real.json" st_run valid-cashier --mode positive --max-examples "$examples" \
    -H "Authorization: Bearer $cashier" "${own_runs[@]}"

# 2. Invalid requests only: beyond the check around each request, the
#    whole database must be as it was.
#    (A case schemathesis could not make invalid is a valid request: what
#    its 2xx answer wrote is named rather than failed.)
"$py" "$hooks" fingerprint "$db" >"$work/before.json"
FUELCARD_ST_ACCEPTED="$work/accepted.tsv" st_run invalid --mode negative --phases coverage,fuzzing \
    --max-examples "$examples" -H "Authorization: Bearer $admin" "${own_runs[@]}"
"$py" "$hooks" fingerprint "$db" >"$work/after.json"
if ! "$py" "$hooks" compare "$work/before.json" "$work/after.json" "$work/accepted.tsv"; then
    diff -u "$work/before.json" "$work/after.json" || true
    fail "invalid requests changed the tables above"
fi

# 3. The chip routes, valid and invalid: every answer as documented, and
#    the one server error the missing reader's 503.
checks=${checks/not_a_server_error/no_server_error_but_the_missing_reader} \
    st_run chip --mode all --max-examples "$examples" \
    -H "Authorization: Bearer $admin" --include-path-regex '^/api/v1/chip/'

# 4. Logout, with a token of its own.
st_run logout --mode all --max-examples "$examples" \
    -H "Authorization: Bearer $logout_token" --include-path /api/v1/auth/logout

# The ledger balances after all of it.
"$py" - "$base" "$admin" <<'EOF' || fail "the ledger check over the API failed"
import sys, requests
r = requests.get(f"{sys.argv[1]}/api/v1/ledger/check", headers={"Authorization": f"Bearer {sys.argv[2]}"}, timeout=60)
r.raise_for_status()
report = r.json()
assert report["ok"] is True and report["total_balance"] == "0.00", report
EOF
"$bin" ledger check --db "$db" >"$work/ledger.json" 2>"$work/ledger.log" ||
    { cat "$work/ledger.json" "$work/ledger.log"; fail "fuelcard ledger check failed"; }
echo "schemathesis on $backend: no findings; the ledger balances ($SECONDS s in all)"
