#!/usr/bin/env bash
# kcat with a recent librdkafka. Debian's kcat links librdkafka 2.0.2, which fails the
# handshake with the local broker (Tansu); this wrapper runs the same kcat with the librdkafka
# shipped in the confluent-kafka Python wheel, installed once into .tools/bench-venv (or into
# $KCAT_VENV when set).
#
#   scripts/kcat.sh -C -b 127.0.0.1:9092 -t orders-dlq -e -f '%k %h\n%s\n'
#   scripts/kcat.sh --setup        # only install what is missing
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv="${KCAT_VENV:-$root/.tools/bench-venv}"
kcat_lib="$venv/kcat-lib"

die() { echo "kcat.sh: $*" >&2; exit 1; }

if ! command -v kcat >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "kcat.sh: installing kcat (apt-get install -y kcat)" >&2
    apt-get install -y kcat >/dev/null 2>&1 || { apt-get update >/dev/null 2>&1 && apt-get install -y kcat >/dev/null 2>&1; } \
      || die "apt-get install kcat failed"
  else
    die "kcat is missing: sudo apt-get install kcat"
  fi
fi
if ! "$venv/bin/python" -c 'import confluent_kafka' 2>/dev/null; then
  echo "kcat.sh: creating $venv with confluent-kafka (for its librdkafka)" >&2
  python3 -m venv "$venv" || die "python3 -m venv failed (apt-get install python3-venv)"
  "$venv/bin/pip" install --quiet --disable-pip-version-check confluent-kafka || die "pip install confluent-kafka failed"
fi
if [ ! -e "$kcat_lib/librdkafka.so.1" ]; then
  lib=$(ls "$venv"/lib/python3*/site-packages/confluent_kafka.libs/librdkafka-*.so.1 2>/dev/null | head -1)
  [ -n "$lib" ] || die "no librdkafka in the confluent-kafka wheel under $venv"
  mkdir -p "$kcat_lib"
  ln -sf "$lib" "$kcat_lib/librdkafka.so.1"
fi
[ "${1:-}" = "--setup" ] && exit 0
LD_LIBRARY_PATH="$kcat_lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" exec kcat "$@"
