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
    libpcre2-dev         # rules: regex transforms (PCRE2 with its JIT)
    libssl-dev           # libcrypto: the rules' hash transform, the webhook's HMAC-SHA256
                         # signatures, NATS NKeys (Ed25519)
    openssl              # the NATS TLS test makes its CA and certificates (it_nats_auth tls)
    libcurl4-openssl-dev # webhook destination (HTTP POST, TLS)
    libmicrohttpd-dev    # the CLI's --metrics-addr server (Prometheus /metrics, /healthz, /readyz)
    libnats-dev          # NATS JetStream: pghost capture / apply (found through pkg-config)
    nats-server          # the NATS tests start real servers (tests/harness/pgh_nats.h)
    libcmocka-dev        # unit tests
    gnuplot-nox          # later: benchmark charts (bench/)
    bc                   # bench/run: arithmetic on timings
    python3              # free ports in scripts/demo.sh and bench/run
    pgcopydb             # later: the peer the benchmark compares against (bench/)
    postgresql-15-wal2json # bench: the wal2json peer (bench/destinations)
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

# libduckdb for destination: duckdb (loaded at run time, so the build never needs it): the
# shared library DuckDB ships in its npm package, installed into one fixed prefix, only when
# missing. pghost looks there first (src/dest/duckdb/duckdb_api.h); duckdb_library overrides.
DUCKDB_PREFIX=/usr/local/lib/pghost-duckdb
DUCKDB_PACKAGE=@duckdb/node-bindings-linux-x64
install_duckdb() {
    local lib="$DUCKDB_PREFIX/node_modules/$DUCKDB_PACKAGE/libduckdb.so"
    if [ -f "$lib" ]; then
        echo "install-deps: libduckdb present ($lib)"
        return 0
    fi
    if ! command -v npm >/dev/null 2>&1; then
        echo "install-deps: npm not found: libduckdb not installed (the DuckDB destination and" \
            "its tests need it; install nodejs/npm and run this again)" >&2
        return 0
    fi
    echo "install-deps: installing $DUCKDB_PACKAGE into $DUCKDB_PREFIX"
    local sudo_cmd=()
    if [ "$(id -u)" -ne 0 ]; then
        sudo_cmd=(sudo)
    fi
    "${sudo_cmd[@]}" npm install --prefix "$DUCKDB_PREFIX" --no-save --no-audit --no-fund \
        "$DUCKDB_PACKAGE"
}

if [ "${#missing[@]}" -eq 0 ]; then
    echo "install-deps: all ${#packages[@]} packages present"
    install_duckdb
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
install_duckdb
