#!/usr/bin/env bash
# Install the Debian packages pghost needs to build and test, and only when one is missing, so a
# repeated run costs a few dpkg look-ups. Uses sudo when not root. Debian 12 (bookworm).
#
# The postgresql-15 package may create and start a system cluster on port 5432. That does not
# matter: the tests never use it. Each test runs its own throwaway servers (initdb into
# /tmp/pghost-test-*) on free loopback ports chosen at run time, with their sockets in their own
# temp dirs, and pass host/port/user/dbname explicitly to every connection.
set -euo pipefail

packages=(
    build-essential      # gcc, make, libc headers
    cmake                # the build
    pkg-config           # how CMake finds libpq, yaml-0.1, ...
    clang                # libFuzzer targets (PGH_FUZZ)
    libclang-rt-14-dev   # clang's fuzzer and sanitizer runtimes
    libpq-dev            # libpq: every connection pghost makes
    postgresql-15        # initdb/pg_ctl/postgres for the integration tests
    postgresql-client-15 # psql, pg_recvlogical, pgbench for tests and benchmarks
    libyaml-dev          # configuration files
    libjansson-dev       # JSON-lines destination: validating json/jsonb values
    libpcre2-dev         # later: table include/exclude patterns
    libcurl4-openssl-dev # webhook destination (HTTP POST, TLS)
    libssl-dev           # webhook destination: HMAC-SHA256 signatures (libcrypto)
    libmicrohttpd-dev    # the CLI's --metrics-addr server (Prometheus /metrics, /healthz, /readyz)
    libnats-dev          # later: NATS JetStream destination
    nats-server          # later: NATS JetStream destination tests
    libcmocka-dev        # unit tests
    gnuplot-nox          # later: benchmark charts (bench/)
    bc                   # bench/run: arithmetic on timings
    python3              # free ports in scripts/demo.sh and bench/run
    pgcopydb             # later: the peer the benchmark compares against (bench/)
)

if ! command -v dpkg >/dev/null 2>&1; then
    echo "install-deps: no dpkg here; install the equivalents of: ${packages[*]}" >&2
    exit 1
fi

missing=()
for p in "${packages[@]}"; do
    if ! dpkg -s "$p" 2>/dev/null | grep -q '^Status: install ok installed'; then
        missing+=("$p")
    fi
done

if [ "${#missing[@]}" -eq 0 ]; then
    echo "install-deps: all ${#packages[@]} packages present"
    exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo=()
if [ "$(id -u)" -ne 0 ]; then
    sudo=(sudo)
fi
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends "${missing[@]}"
