#!/usr/bin/env bash
# A real-time soak: the release daemon against the test CSMS and the fake charge controller,
# with charging sessions and faults on the controller, printing RSS and CPU over time
# (bench/soak.py; docs/reliability.md).
#
#   bench/soak.sh                                 10 minutes, a state change every 5 s
#   bench/soak.sh --minutes 240 --churn-seconds 2 --drop-minutes 15 --csv /tmp/soak.csv
#   bench/soak.sh --station bench/python_station.py   the Python reference, for comparison
#
# Options: --profile NAME (a cargo profile, default release), --station PATH (skip the build),
# and everything bench/soak.py takes (--minutes, --sample-seconds, --churn-seconds,
# --drop-minutes, --heartbeat, --period, --csv).
set -euo pipefail
cd "$(dirname "$0")/.."

profile=release
station=""
pass=()
while [ $# -gt 0 ]; do
  case "$1" in
    --profile) profile="$2"; shift ;;
    --station) station="$2"; shift ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) pass+=("$1") ;;
  esac
  shift
done

python="${OCPP_TEST_PYTHON:-.venv/bin/python}"
if ! "$python" -c 'import ocpp, websockets, jsonschema' >/dev/null 2>&1; then
  echo "$python cannot import ocpp, websockets and jsonschema: run scripts/test.sh once, or set" \
    "OCPP_TEST_PYTHON to a Python with tests/csms/requirements.txt" >&2
  exit 1
fi
if [ -z "$station" ]; then
  cargo build --locked --profile "$profile" --bin ocpp-station >&2
  case "$profile" in
    dev) station=target/debug/ocpp-station ;;
    *) station="target/$profile/ocpp-station" ;;
  esac
fi
exec "$python" bench/soak.py --station "$station" --python "$python" ${pass[@]+"${pass[@]}"}
