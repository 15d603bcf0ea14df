# Sourced by the test commands: installs what the tests need and starts
# it — PostgreSQL (TEST_DATABASE_URL, or the local server), pcscd with the
# virtual reader — and clears databases a killed run left behind.
# postgresql: the server binaries (initdb, pg_ctl, pg_basebackup) the crash
# and failover tests start clusters of their own with (as `postgres`, via
# util-linux's runuser).
scripts/install-deps.sh pcscd vsmartcard-vpcd pcsc-tools chromium chromium-driver fonts-wqy-microhei curl jq postgresql

# PostgreSQL: use TEST_DATABASE_URL, or the local server (started if stopped).
if [ -z "${TEST_DATABASE_URL:-}" ]; then
    local_pg="postgres://postgres@127.0.0.1:5432/test"
    if ! psql "$local_pg" -qtAc 'select 1' >/dev/null 2>&1 && command -v pg_ctlcluster >/dev/null; then
        version="$(ls /etc/postgresql | head -n1)"
        pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
        for _ in $(seq 50); do psql "$local_pg" -qtAc 'select 1' >/dev/null 2>&1 && break; sleep 0.2; done
    fi
    if psql "$local_pg" -qtAc 'select 1' >/dev/null 2>&1; then
        export TEST_DATABASE_URL="$local_pg"
    else
        echo "*** no PostgreSQL server answers: the PostgreSQL tests will skip (or fail under CI=true) ***"
    fi
fi
echo "TEST_DATABASE_URL=${TEST_DATABASE_URL:-<unset>}"
# Databases left behind by an earlier run that was killed mid-test.
if [ -n "${TEST_DATABASE_URL:-}" ]; then
    for db in $(psql "$TEST_DATABASE_URL" -qtAc "select datname from pg_database where datname like 'fuelcard\_test\_%'" 2>/dev/null); do
        psql "$TEST_DATABASE_URL" -qtAc "drop database if exists $db with (force)" >/dev/null 2>&1 || true
    done
fi

# pcscd with the virtual reader, for the reader's end-to-end tests.
if [ -x reader/scripts/pcscd-up.sh ]; then
    reader/scripts/pcscd-up.sh
fi
