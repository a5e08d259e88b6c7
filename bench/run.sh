#!/usr/bin/env bash
# ocpp-station next to the Python reference station (bench/python_station.py, on the `ocpp`
# package) against the same loopback CSMS: --once wall time and peak RSS, the idle daemon's RSS
# and CPU, STAT -> StatusNotification latency, installed size. Prints a table with ratios and
# the project's targets (docs/performance.md).
#
#   bench/run.sh                      release build, full run (about 17 minutes)
#   bench/run.sh --quick              a few seconds of each measurement on the dev build: checks
#                                     that the benchmark works (CI runs this)
#   bench/run.sh --idle-seconds 60 --runs 50 --json /tmp/bench.json
#   bench/run.sh --target host        the release build linked against this machine's glibc
#
# Options: --quick, --release (quick mode on the release build), --profile NAME (a cargo
# profile), --target TRIPLE|host, and everything bench/bench.py takes (--runs, --idle-seconds,
# --bare-seconds, --transitions, --json).
# A full run measures the build the stations run: statically linked against musl, for this
# machine's architecture (x86_64-unknown-linux-musl here; the Pi's is aarch64-unknown-linux-musl).
# Without what that build needs (scripts/build-deb.sh --check says what is missing), it measures
# the glibc build and says so. Quick mode uses the host build.
# Each target is shown next to this run's figure; only a full run of the static release build
# gives verdicts (met / NOT met): other runs say why they give none (bench/targets.py).
# Outside quick mode, as root on Debian, hyperfine and GNU time are installed when missing;
# without them a timed loop and the kernel's rusage stand in.
set -euo pipefail
cd "$(dirname "$0")/.."

quick=0
profile=""
target=""
pass=()
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    --release) profile=release ;;
    --profile) profile="$2"; shift ;;
    --profile=*) profile="${1#--profile=}" ;;
    --target) target="$2"; shift ;;
    --target=*) target="${1#--target=}" ;;
    -h|--help) sed -n '2,23p' "$0"; exit 0 ;;
    *) pass+=("$1") ;;
  esac
  shift
done
if [ -z "$profile" ]; then
  if [ "$quick" = 1 ]; then profile=dev; else profile=release; fi
fi

# The Python of the test suite (tests/csms/requirements.txt): the CSMS and the reference station
# both need the `ocpp` package.
python="${OCPP_TEST_PYTHON:-}"
if [ -z "$python" ]; then
  python=.venv/bin/python
  if ! "$python" -c 'import ocpp, websockets, jsonschema' >/dev/null 2>&1; then
    if ! command -v python3 >/dev/null 2>&1; then
      echo "python3 is missing: install python3 and python3-venv" >&2
      exit 1
    fi
    [ -x "$python" ] || python3 -m venv .venv
    "$python" -m pip install --disable-pip-version-check -q -r tests/csms/requirements.txt
  fi
fi
if ! "$python" -c 'import ocpp, websockets, jsonschema' >/dev/null 2>&1; then
  echo "$python cannot import ocpp, websockets and jsonschema (tests/csms/requirements.txt)" >&2
  exit 1
fi

if [ "$quick" = 0 ] && [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  missing=()
  command -v hyperfine >/dev/null 2>&1 || missing+=(hyperfine)
  [ -x /usr/bin/time ] || missing+=(time)
  if [ "${#missing[@]}" -gt 0 ]; then
    apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null || true
  fi
fi

if [ -z "$target" ]; then
  if [ "$quick" = 1 ]; then
    target=host
  else
    target="$(uname -m)-unknown-linux-musl"
    # build-deb.sh --check says what is missing for it.
    if ! scripts/build-deb.sh --check --target "$target"; then
      echo "measuring the glibc build: the stations run the static $target build" >&2
      target=host
    fi
  fi
fi
case "$profile" in
  dev) dir=debug ;;
  *) dir="$profile" ;;
esac
# Where cargo put it: CARGO_TARGET_DIR when set (a second checkout or a parallel build), else target.
if [ "$target" = host ]; then
  cargo build --locked --profile "$profile" --bin ocpp-station >&2
  station="${CARGO_TARGET_DIR:-target}/$dir/ocpp-station"
  build="$profile"
else
  cargo build --locked --profile "$profile" --target "$target" --bin ocpp-station >&2
  station="${CARGO_TARGET_DIR:-target}/$target/$dir/ocpp-station"
  build="$profile, $target"
fi
if [ ! -x "$station" ]; then
  echo "no station binary at $station" >&2
  exit 1
fi

args=(--station "$station" --python "$python" --build "$build" --profile "$profile" --target "$target")
[ "$quick" = 1 ] && args+=(--quick)
exec "$python" bench/bench.py "${args[@]}" ${pass[@]+"${pass[@]}"}
