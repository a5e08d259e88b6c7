#!/usr/bin/env bash
# Run the whole test suite: unit tests and the integration tests against a real CSMS
# (tests/csms/csms.py on the Python `ocpp` package). Works on a fresh Debian machine with the
# Rust toolchain and python3; extra arguments go to `cargo test`.
#
#   scripts/test.sh
#   scripts/test.sh --test once -- --nocapture
set -euo pipefail
cd "$(dirname "$0")/.."

requirements=tests/csms/requirements.txt
venv=.venv
stamp="$venv/.requirements.sha256"

if ! command -v python3 >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update && apt-get install -y python3 python3-venv
  else
    echo "python3 is missing: install python3 and python3-venv" >&2
    exit 1
  fi
fi
if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c 'import ensurepip' >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update && apt-get install -y python3-venv
  else
    echo "the python3 venv module is missing: install python3-venv (as root: apt-get install python3-venv)" >&2
    exit 1
  fi
fi

# An unusable environment (moved, interpreter upgraded away) is rebuilt from scratch.
if [ -d "$venv" ] && ! "$venv/bin/python" -c 'import sys' >/dev/null 2>&1; then
  rm -rf "$venv"
fi
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
want=$(sha256sum "$requirements" | cut -d' ' -f1)
have=$(cat "$stamp" 2>/dev/null || true)
if [ "$want" != "$have" ] || ! "$venv/bin/python" -c 'import ocpp, websockets, jsonschema' >/dev/null 2>&1; then
  "$venv/bin/python" -m pip install --disable-pip-version-check -q -r "$requirements"
  echo "$want" >"$stamp"
fi

OCPP_TEST_PYTHON="$(pwd)/$venv/bin/python"
export OCPP_TEST_PYTHON
# Every target of every package (the station, its core, the lab), unless the arguments pick
# some (--test once, --lib, -p ocpp-lab, ...).
targets=(--workspace --all-targets)
for arg in "$@"; do
  case "$arg" in
    --test | --test=* | --tests | --lib | --bin | --bin=* | --bins | --bench | --bench=* | --benches) targets=(--workspace) ;;
    -p | -p* | --package | --package=*) targets=() ;;
    --) break ;;
  esac
done
cargo test ${targets[@]+"${targets[@]}"} --locked "$@"
