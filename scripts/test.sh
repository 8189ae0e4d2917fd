#!/usr/bin/env bash
# The project's one test command (`make test`, also run by CI): installs what the tests need
# when it is missing (Debian packages as root, Apache Kafka from Maven Central, Tansu, kcat),
# then checks formatting, lints, and runs every test. Needs the Rust toolchain, Python 3 with
# pip, Java 17+ with Maven, and Debian's packages.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Each step says when it started, so a slow run shows where its time went.
step() { printf '\n==> [%s] %s\n' "$(date -u +%H:%M:%S)" "$*"; }

step "Debian packages the build and the tests use (installed when missing and run as root)"
# pkg-config and libssl-dev: librdkafka's TLS; zlib1g-dev: its compression; cmake and g++:
# its build; kcat and python3-venv: the external client (scripts/kcat.sh).
wanted=(pkg-config libssl-dev zlib1g-dev cmake g++ make kcat python3-venv python3-pip)
command -v java >/dev/null || wanted+=(openjdk-17-jre-headless)
command -v mvn >/dev/null || wanted+=(maven)
missing=()
for package in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "all present"
elif [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  echo "installing: ${missing[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "error: missing Debian packages: ${missing[*]} (sudo apt-get install ${missing[*]})" >&2
  exit 1
fi

step "Apache Kafka from Maven Central, for the tests of the product's promises (scripts/kafka.sh)"
scripts/kafka.sh install

step "Tansu, the quick broker of the other tests (scripts/broker.sh)"
scripts/broker.sh install

step "kcat with a recent librdkafka, an external client of the tests (scripts/kcat.sh)"
scripts/kcat.sh --setup

step "Formatting: cargo fmt --check"
cargo fmt --all -- --check

step "Lints: cargo clippy --all-targets -- -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "Building the tests"
cargo test --workspace --locked --no-run

step "Tests: cargo test (each broker-backed test starts its own broker, Tansu or Apache Kafka; 2 test threads)"
# A hung test fails the run loudly instead of eating CI's time.
timeout --signal=TERM --kill-after=30s "${TEST_TIMEOUT:-30m}" \
  cargo test --workspace --locked -- --test-threads="${TEST_THREADS:-2}" "$@"
step "Done"
