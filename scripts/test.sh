#!/usr/bin/env bash
# The project's one test command (`make test`, also run by CI): installs the local broker when
# missing, then checks formatting, lints, and runs every test. Needs only the Rust toolchain,
# Python 3 with pip, and Debian's packages.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

step() { printf '\n==> %s\n' "$*"; }

step "Local broker (Tansu) for the integration tests"
scripts/broker.sh install

step "Tansu built from the crate, for the SASL and durable-storage tests (sqlite and postgres storage; a build of ~14 CPU-minutes, once per machine)"
TANSU_INSTALL=crate scripts/broker.sh install

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

step "Tests: cargo test (each broker-backed test starts its own broker; 2 test threads)"
# A hung test fails the run loudly instead of eating CI's time.
timeout --signal=TERM --kill-after=30s "${TEST_TIMEOUT:-25m}" \
  cargo test --workspace --locked -- --test-threads="${TEST_THREADS:-2}"
