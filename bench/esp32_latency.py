#!/usr/bin/env python3
"""How long a charge-controller state change takes to reach the CSMS.

Runs the station binary against the test CSMS (tests/csms/csms.py) with the fake ESP32
(tests/esp32/fake_controller.py) on a pseudo-terminal, flips the controller between IDLE and
CABLE_DETECT `--transitions` times, and measures, for each flip, the time from the fake writing
the first STAT line carrying the new state on the pty to the CSMS receiving the
StatusNotification (Available <-> Occupied in 2.0.1, Available <-> Preparing in 1.6). Both
timestamps are CLOCK_MONOTONIC (Python's time.monotonic()) on the same machine.

The station keeps its status file and saved state in the run's temporary directory (`--tmp`,
default the system's, /tmp): a disk, as on a Pi's SD card, rather than the tmpfs of /run, so
that a status-file write on the way from the STAT line to the wire would show. Each result
names the file system it ran on.

    .venv/bin/python bench/esp32_latency.py                       # release binary, 2.0.1 and 1.6
    .venv/bin/python bench/esp32_latency.py --station target/debug/ocpp-station --transitions 50
    .venv/bin/python bench/esp32_latency.py --station bench/python_station.py   # the reference

A `--station` ending in `.py` is run with `--python`.

Needs the Python of the test suite (tests/csms/requirements.txt: `ocpp`, `websockets`) for the
CSMS, and a built station (`cargo build --release`). Prints one JSON object per OCPP version
and a summary for docs/esp32.md.
"""

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time

from benchlib import ADAPTER, CSMS, FAKE, PASSWORD, ROOT, Process, machine

STATION = "BENCH_ST_01"


def percentile(values, p):
    """Nearest-rank percentile."""
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def is_status(event, version, connector=1):
    if not (
        event.get("event") == "recv"
        and event.get("message_type") == 2
        and event.get("action") == "StatusNotification"
    ):
        return False
    return event.get("payload", {}).get("connectorId") == connector


def status_of(event, version):
    payload = event["payload"]
    return payload["connectorStatus"] if version == "2.0.1" else payload["status"]


def file_system(path):
    """The type of the file system `path` is on (ext4, tmpfs, ...), or None."""
    try:
        out = subprocess.run(
            ["df", "--output=fstype", path], capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    lines = out.stdout.split()
    return lines[-1] if len(lines) > 1 else None


def run(args, version, python):
    shown = {1: "Available", 2: "Occupied" if version == "2.0.1" else "Preparing"}
    config = {
        "routes": [
            {"prefix": "/ocpp201", "subprotocols": ["ocpp2.0.1"]},
            {"prefix": "/ocpp16", "subprotocols": ["ocpp1.6"]},
        ],
        "password": PASSWORD,
        "boot": {"statuses": ["Accepted"], "interval": 3600},
    }
    with tempfile.TemporaryDirectory(prefix="esp32-bench-", dir=args.tmp) as directory:
        csms = Process([python, CSMS, "--config", json.dumps(config)])
        fake = station = None
        try:
            _, listening = csms.wait_for("CSMS listening", lambda e: e["event"] == "listening")
            port = listening["port"]
            link = os.path.join(directory, ADAPTER)
            fake = Process(
                [sys.executable, FAKE, "--link", link, "--period", str(args.period)], stdin=True
            )
            fake.wait_for("fake controller", lambda e: e["event"] == "ready")
            env = {
                "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                "OCPP_STATION_NAME": STATION,
                "OCPP_STATION_PASSWORD": PASSWORD,
                "OCPP_PRIMARY": version,
                "OCPP_201_URL": f"ws://127.0.0.1:{port}/ocpp201",
                "OCPP_16_URL": f"ws://127.0.0.1:{port}/ocpp16",
                "OCPP_HEARTBEAT_SECONDS": "3600",
                "ESP32_PORT": link,
                "ESP32_BY_ID_DIR": directory,
                "OCPP_RUNTIME_DIR": os.path.join(directory, "run"),
                "OCPP_STATE_DIR": os.path.join(directory, "state"),
                "OCPP_LOG": "warn",
            }
            command = [args.station]
            if args.station.endswith(".py"):
                command = [args.python, args.station]
            station = Process(command, env=env)
            at, _ = csms.wait_for(
                "Available at the CSMS",
                lambda e: is_status(e, version) and status_of(e, version) == "Available",
            )
            samples = []
            state = 1
            for _ in range(args.transitions):
                state = 2 if state == 1 else 1
                fake_from = len(fake.events)
                fake.send({"state": state, "stat_now": True})
                _, sent = fake.wait_for(
                    f"a STAT with STATE={state} on the pty",
                    lambda e, s=state: e["event"] == "sent"
                    and e.get("delivered")
                    and e.get("state") == s,
                    fake_from,
                )
                at, received = csms.wait_for(
                    f"StatusNotification {shown[state]}",
                    lambda e: is_status(e, version),
                    at + 1,
                )
                if status_of(received, version) != shown[state]:
                    raise RuntimeError(f"expected {shown[state]}, got {received['payload']}")
                samples.append((received["t"] - sent["t"]) * 1000.0)
                # Let a couple of periodic STATs pass, as in the field between two changes.
                time.sleep(args.gap)
            return {
                "ocpp": version,
                "file_system": file_system(directory),
                "transitions": len(samples),
                "stat_period_s": args.period,
                "median_ms": round(statistics.median(samples), 2),
                "p95_ms": round(percentile(samples, 95), 2),
                "min_ms": round(min(samples), 2),
                "max_ms": round(max(samples), 2),
                "samples_ms": [round(s, 2) for s in samples],
            }
        finally:
            for process in (station, fake, csms):
                if process is not None:
                    process.stop()
            if station is not None and station.child.returncode not in (0, None):
                sys.stderr.write("".join(station.stderr[-40:]))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    default_station = os.path.join(ROOT, "target", "release", "ocpp-station")
    parser.add_argument("--station", default=default_station, help="the station binary")
    parser.add_argument("--versions", default="2.0.1,1.6", help="OCPP versions, comma-separated")
    parser.add_argument("--transitions", type=int, default=20)
    parser.add_argument("--period", type=float, default=0.3, help="the fake's STAT period, s")
    parser.add_argument("--gap", type=float, default=0.7, help="pause between transitions, s")
    parser.add_argument(
        "--tmp", default=None, help="where the run's directory goes (status file, state)"
    )
    parser.add_argument(
        "--python",
        default=os.environ.get("OCPP_TEST_PYTHON") or os.path.join(ROOT, ".venv", "bin", "python"),
        help="a Python with tests/csms/requirements.txt (for the CSMS)",
    )
    args = parser.parse_args()
    if not os.access(args.station, os.X_OK) and not args.station.endswith(".py"):
        parser.error(f"{args.station} is not an executable: cargo build --release first")
    info = machine()
    print(json.dumps({"machine": info, "station": os.path.relpath(args.station, ROOT)}))
    results = []
    for version in args.versions.split(","):
        result = run(args, version.strip(), args.python)
        results.append(result)
        print(json.dumps(result))
    sys.stderr.write(f"\n{info['nproc']} x {info['cpu']}, kernel {info['kernel']}\n")
    for r in results:
        sys.stderr.write(
            f"OCPP {r['ocpp']}: {r['transitions']} transitions, median {r['median_ms']} ms, "
            f"p95 {r['p95_ms']} ms (min {r['min_ms']}, max {r['max_ms']})\n"
        )


if __name__ == "__main__":
    main()
