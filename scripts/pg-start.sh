#!/usr/bin/env bash
# Start the machine's PostgreSQL 15 cluster and make a role and database for Cairn's tests.
# Idempotent: safe to run again. Prints the DATABASE_URL to use on its last line.
# Usage: scripts/pg-start.sh [dbname]   (default: cairn_test)
set -euo pipefail
DB="${1:-cairn_test}"
ROLE="${CAIRN_PG_ROLE:-cairn}"
PASS="${CAIRN_PG_PASSWORD:-cairn}"

as_postgres() {
  if [ "$(id -u)" = 0 ]; then su postgres -c "$*"; else sudo -u postgres bash -c "$*"; fi
}

if ! command -v pg_ctlcluster >/dev/null 2>&1; then
  echo "PostgreSQL is not installed (pg_ctlcluster missing); install postgresql-15" >&2
  exit 1
fi
# A cluster that was not shut down cleanly (a machine stopped mid-benchmark) replays its WAL
# before it accepts connections: up to max_wal_size of it, which took over a minute on a cold
# disk, longer than pg_ctl's default 60 s wait. So give pg_ctl up to 15 minutes, and if it still
# gives up while the server is starting, keep waiting for the server rather than failing.
PG_START_WAIT_SECONDS="${CAIRN_PG_START_WAIT:-900}"
# The cluster's status as pg_lsclusters prints it (online, down, ...).
cluster_status() { pg_lsclusters -h | awk '$1=="15" && $2=="main" {print $4}'; }
print_log() {
  echo "$1; its log:" >&2
  tail -n 20 /var/log/postgresql/postgresql-15-main.log >&2 || true
}
start_cluster() {
  pg_ctlcluster 15 main "$1" -- -t "$PG_START_WAIT_SECONDS" ||
    echo "pg_ctlcluster 15 main $1 returned $?; waiting for the server" >&2
}
wait_ready() {
  local deadline=$(( $(date +%s) + PG_START_WAIT_SECONDS ))
  while [ "$(date +%s)" -lt "$deadline" ]; do
    as_postgres "psql -qAtc 'select 1'" >/dev/null 2>&1 && return 0
    # A server that exited (bad settings, a broken data directory) will not come up: say so now.
    if cluster_status | grep -q down; then
      print_log "PostgreSQL is not running"
      return 1
    fi
    sleep 0.5
  done
  print_log "PostgreSQL did not accept connections within ${PG_START_WAIT_SECONDS} s"
  return 1
}
if ! cluster_status | grep -q online; then
  start_cluster start
fi
wait_ready

# PostgreSQL's stock memory settings (128 MB of shared buffers, 1 GB of WAL between checkpoints)
# are sized for a small machine; a million-item collection does not fit them, and the benchmarks
# (npm run bench) would measure the buffer cache instead of Cairn. Give the cluster a quarter of
# the RAM (at most 8 GB: the usual advice) and room for WAL, as a production set-up would; once,
# then restart.
# CAIRN_PG_TUNE=0 leaves the cluster's settings alone.
if [ "${CAIRN_PG_TUNE:-1}" != 0 ] && [ "$(as_postgres "psql -qAtc 'show shared_buffers'")" = 128MB ]; then
  mem_mb=$(awk '/MemTotal/ {print int($2 / 1024)}' /proc/meminfo)
  buffers_mb=$(( mem_mb / 4 > 8192 ? 8192 : mem_mb / 4 ))
  as_postgres "psql -qAt -c \"ALTER SYSTEM SET shared_buffers = '${buffers_mb}MB'\" -c \"ALTER SYSTEM SET max_wal_size = '8GB'\"" >/dev/null
  if ! pg_ctlcluster 15 main restart -- -t "$PG_START_WAIT_SECONDS"; then
    # Not enough memory for those buffers (a small machine, a container limit): drop the two
    # settings again and start with the cluster's own.
    echo "PostgreSQL did not start with shared_buffers=${buffers_mb}MB; starting it with its own settings" >&2
    data_dir=$(pg_lsclusters -h | awk '$1=="15" && $2=="main" {print $6}')
    as_postgres "sed -i -e '/^shared_buffers/d' -e '/^max_wal_size/d' '${data_dir}/postgresql.auto.conf'"
    start_cluster start
  fi
  wait_ready
fi
as_postgres "psql -qAt -v ON_ERROR_STOP=1" >/dev/null <<SQL
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${ROLE}') THEN
    CREATE ROLE ${ROLE} LOGIN SUPERUSER PASSWORD '${PASS}';
  END IF;
END \$\$;
SQL
if ! as_postgres "psql -qAtc \"select 1 from pg_database where datname='${DB}'\"" | grep -q 1; then
  as_postgres "createdb -O ${ROLE} ${DB}"
fi
echo "postgres://${ROLE}:${PASS}@127.0.0.1:5432/${DB}"
