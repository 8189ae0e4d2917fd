#!/usr/bin/env bash
# The project's one test command (`make test`, also run by CI): installs the local broker when
# missing, then checks formatting, lints, and runs every test. Needs only the Rust toolchain,
# Python 3 with pip, and Debian's packages.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Each step says when it started, so a slow run shows where its time went.
step() { printf '\n==> [%s] %s\n' "$(date -u +%H:%M:%S)" "$*"; }

step "Local broker (Tansu) for the integration tests"
scripts/broker.sh install

step "Tansu built from the crate, for the SASL and durable-storage tests (sqlite and postgres storage; ~20 minutes on 2 cores, once per machine): in the background, while the checks and the build below run"
# The two builds share the cores: each leaves some idle while it links or runs a build
# script, so together they finish sooner than one after the other.
tansu_log=$(mktemp)
setsid env TANSU_INSTALL=crate scripts/broker.sh install >"$tansu_log" 2>&1 &
tansu_pid=$!
trap 'kill -- "-$tansu_pid" 2>/dev/null || true; rm -f "$tansu_log"' EXIT

step "kcat with a recent librdkafka, the external client of the hostile-header test (scripts/kcat.sh)"
scripts/kcat.sh --setup

step "PostgreSQL 17 for the durable-storage tests (BROKER_STORAGE=postgres; seconds)"
if ! scripts/broker.sh install-postgres; then
  # A clean Debian may lack a shared library the PostgreSQL build links: as root, install
  # the packages broker.sh named, then try again.
  packages=$(scripts/broker.sh postgres-packages)
  if [ -n "$packages" ] && [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    # shellcheck disable=SC2086 # a list of package names
    apt-get update -qq && apt-get install -y -qq --no-install-recommends $packages
    scripts/broker.sh install-postgres
  else
    exit 1
  fi
fi

step "Formatting: cargo fmt --check"
cargo fmt --all -- --check

step "Lints: cargo clippy --all-targets -- -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "Building the tests"
cargo test --workspace --locked --no-run

# A hung test fails the run loudly instead of eating CI's time.
run_tests() {
  timeout --signal=TERM --kill-after=30s "${TEST_TIMEOUT:-25m}" \
    cargo test --workspace --locked -- --test-threads="${TEST_THREADS:-2}" "$@"
}
# The tests that need the crate build of Tansu: SASL logins (users kept in sqlite storage)
# and durable storage (postgres). The others run while it builds.
needs_tansu_crate=(sasl durable_storage)

step "Tests, all but ${needs_tansu_crate[*]}: cargo test (each broker-backed test starts its own broker; 2 test threads), while Tansu builds"
run_tests "${needs_tansu_crate[@]/#/--skip=}"

step "Waiting for the Tansu crate build"
if ! wait "$tansu_pid"; then
  cat "$tansu_log" >&2
  echo "error: building Tansu from the crate failed (its output is above)" >&2
  exit 1
fi
tail -n 2 "$tansu_log"

step "Tests of ${needs_tansu_crate[*]}: cargo test"
run_tests "${needs_tansu_crate[@]}"
step "Done"
