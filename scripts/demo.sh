#!/usr/bin/env bash
# The demo: builds pghost, starts two throwaway PostgreSQL servers on free loopback ports,
# loads pgbench data (1,000,000 accounts by default) into the source, keeps writing to it while
# `pghost replicate` runs, stops the writers just before the checkpoint (--before-checkpoint),
# then shows that every table is identical on both sides. Everything is removed at the end.
#
#   PGH_DEMO_SCALE   pgbench scale (default 10: 1,000,000 accounts)
#   PGH_SKIP_DEPS=1  do not run scripts/install-deps.sh
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
scale="${PGH_DEMO_SCALE:-10}"

if [ "${PGH_SKIP_DEPS:-0}" != 1 ]; then
    bash scripts/install-deps.sh
fi
echo "==== building pghost"
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPGH_TESTS=OFF >/dev/null
cmake --build build/release --parallel "$(nproc)" --target pghost >/dev/null
pghost="$root/build/release/pghost"

bindir="$(pg_config --bindir 2>/dev/null || true)"
[ -x "$bindir/initdb" ] || bindir=/usr/lib/postgresql/15/bin
as_pg=()
if [ "$(id -u)" = 0 ]; then
    as_pg=(runuser -u postgres --) # PostgreSQL refuses to run as root
fi

work="$(mktemp -d /tmp/pghost-demo-XXXXXX)"
chmod 755 "$work"
writers_pid=""
cleanup() {
    [ -n "$writers_pid" ] && kill "$writers_pid" 2>/dev/null || true
    for side in source destination; do
        if [ -f "$work/$side/postmaster.pid" ]; then
            (cd /tmp && "${as_pg[@]}" "$bindir/pg_ctl" -D "$work/$side" -m immediate stop \
                >/dev/null 2>&1) || true
        fi
    done
    rm -rf "$work"
}
trap cleanup EXIT

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start_server() { # name port
    local dir="$work/$1"
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$work" "$dir"
    (cd /tmp && "${as_pg[@]}" "$bindir/initdb" --no-sync -A trust -U postgres -D "$dir" >/dev/null)
    cat >>"$dir/postgresql.conf" <<CONF
port = $2
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
wal_level = logical
max_wal_size = 4GB
CONF
    (cd /tmp && "${as_pg[@]}" "$bindir/pg_ctl" -D "$dir" -l "$dir/server.log" -w start >/dev/null)
}

sport="$(free_port)"
start_server source "$sport"
dport="$(free_port)"
start_server destination "$dport"
src="host=127.0.0.1 port=$sport user=postgres dbname=postgres"
dst="host=127.0.0.1 port=$dport user=postgres dbname=postgres"
echo "==== two servers: source on port $sport, destination on port $dport"

echo "==== loading pgbench scale $scale into the source"
"$bindir/pgbench" -q -i -s "$scale" "$src" 2>&1 | tail -n 1
# The destination gets the same tables, empty, with their primary keys.
"$bindir/pgbench" -q -i -I dtp -s 1 "$dst" >/dev/null 2>&1
psql -X -q "$src" -c "CREATE PUBLICATION demo FOR TABLE pgbench_accounts, pgbench_branches, pgbench_tellers"

# Writers: TPC-B-like updates plus inserts and deletes of accounts, for as long as the copy runs.
cat >"$work/writes.sql" <<'SQL'
\set aid random(1, 100000 * :scale)
\set bid random(1, 1 * :scale)
\set tid random(1, 10 * :scale)
\set delta random(-5000, 5000)
BEGIN;
UPDATE pgbench_accounts SET abalance = abalance + :delta WHERE aid = :aid;
UPDATE pgbench_tellers SET tbalance = tbalance + :delta WHERE tid = :tid;
UPDATE pgbench_branches SET bbalance = bbalance + :delta WHERE bid = :bid;
INSERT INTO pgbench_accounts VALUES (:aid + 100000000, :bid, 0, 'inserted during the copy') ON CONFLICT DO NOTHING;
DELETE FROM pgbench_accounts WHERE aid = :aid + 7;
END;
SQL
"$bindir/pgbench" -n -c 4 -T 3600 -D scale="$scale" -f "$work/writes.sql" "$src" \
    >"$work/writers.log" 2>&1 &
writers_pid=$!
echo "==== 4 writers running on the source (pid $writers_pid)"

cat >"$work/demo.yaml" <<YAML
source_connection: $src
destination_connection: $dst
publication_name: demo
copy_batch_size: 50000
copy_worker_count: 4
tables:
  - source_table_name: pgbench_accounts
  - source_table_name: pgbench_branches
  - source_table_name: pgbench_tellers
YAML

echo "==== pghost replicate (the writers are stopped just before the checkpoint)"
"$pghost" replicate "$work/demo.yaml" --before-checkpoint "kill $writers_pid; while kill -0 $writers_pid 2>/dev/null; do sleep 0.1; done"
writers_pid=""
grep -E "number of transactions actually processed" "$work/writers.log" || true

echo "==== comparing full ordered dumps of every table"
status=0
for t in pgbench_accounts:aid pgbench_branches:bid pgbench_tellers:tid; do
    table="${t%%:*}" key="${t##*:}"
    a="$(psql -X -q "$src" -c "COPY (SELECT * FROM $table ORDER BY $key) TO STDOUT" | md5sum | cut -c1-32)"
    b="$(psql -X -q "$dst" -c "COPY (SELECT * FROM $table ORDER BY $key) TO STDOUT" | md5sum | cut -c1-32)"
    rows="$(psql -X -q -At "$dst" -c "SELECT count(*) FROM $table")"
    if [ "$a" = "$b" ]; then
        echo "  $table: $rows rows, identical (md5 $a)"
    else
        echo "  $table: DIFFERENT (source $a, destination $b)"
        status=1
    fi
done
[ "$status" = 0 ] && echo "==== source and destination are equal" || echo "==== MISMATCH"
exit "$status"
