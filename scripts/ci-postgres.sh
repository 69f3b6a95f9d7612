#!/usr/bin/env bash
# Start Debian's PostgreSQL on loopback and create the role and database the relay's PostgreSQL
# tests use. Safe to run again: a running cluster, an existing role or database are left alone.
# Prints the SQLAlchemy URL on stdout (everything else goes to stderr), so CI can do
#   export SENDGUARD_TEST_PG_URL="$(scripts/ci-postgres.sh)"
# No systemd here: the cluster is driven with pg_ctlcluster, as root or through sudo.
set -euo pipefail

ROLE=sendguard
PASSWORD=sendguard
DB=sendguard_test

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
as_postgres() { $SUDO runuser -u postgres -- "$@"; }

if ! command -v pg_lsclusters >/dev/null; then
    echo "ci-postgres: PostgreSQL is not installed (run scripts/bootstrap.sh)" >&2
    exit 2
fi
version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
if ! pg_lsclusters -h | awk '{print $1" "$2}' | grep -qx "$version main"; then
    echo "ci-postgres: creating cluster $version/main" >&2
    $SUDO pg_createcluster "$version" main >&2
fi
port=$(pg_lsclusters -h | awk -v v="$version" '$1 == v && $2 == "main" {print $3}')
if ! pg_lsclusters -h | awk -v v="$version" '$1 == v && $2 == "main" {print $4}' | grep -qx online; then
    echo "ci-postgres: starting PostgreSQL $version/main on 127.0.0.1:$port" >&2
    $SUDO pg_ctlcluster "$version" main start >&2
fi
for _ in $(seq 1 30); do
    pg_isready -q -h 127.0.0.1 -p "$port" && break
    sleep 0.5
done
pg_isready -q -h 127.0.0.1 -p "$port" || { echo "ci-postgres: server did not come up on port $port" >&2; exit 1; }

psql_admin() { as_postgres psql -p "$port" -v ON_ERROR_STOP=1 -qAtX "$@"; }
if [ "$(psql_admin -c "SELECT 1 FROM pg_roles WHERE rolname = '$ROLE'")" != "1" ]; then
    psql_admin -c "CREATE ROLE $ROLE LOGIN PASSWORD '$PASSWORD'" >&2
fi
if [ "$(psql_admin -c "SELECT 1 FROM pg_database WHERE datname = '$DB'")" != "1" ]; then
    psql_admin -c "CREATE DATABASE $DB OWNER $ROLE" >&2
fi

echo "postgresql+psycopg://$ROLE:$PASSWORD@127.0.0.1:$port/$DB"
