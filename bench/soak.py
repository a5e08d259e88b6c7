#!/usr/bin/env python3
"""A real-time soak of the station daemon: the binary against the test CSMS
(tests/csms/csms.py) and the fake charge controller (tests/esp32/fake_controller.py) for
`--minutes`, with the controller running charging sessions (and now and then a fault) every
`--churn-seconds` and, with `--drop-minutes`, the CSMS closing the connection now and then.
Prints RSS and CPU from /proc/<pid>/status and /proc/<pid>/stat every `--sample-seconds`, then
a summary; exits non-zero when the station died, the CSMS saw an invalid message, or a status
change never reached the CSMS. Run through bench/soak.sh.
"""

import argparse
import json
import os
import sys
import tempfile
import time

import benchlib

IDENTITY = "SOAK_ST_01"
# One charging session, then a fault and its clearing: (controller STATE, PB).
SESSION = [(2, 0), (3, 0), (4, 0), (5, 0), (6, 0), (5, 0), (7, 0), (1, 0), (8, 2), (1, 0)]
SHOWN_201 = {1: "Available", 8: "Faulted"}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--station", required=True, help="the ocpp-station binary (or a .py)")
    parser.add_argument("--python", required=True, help="Python with tests/csms/requirements.txt")
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--sample-seconds", type=float, default=10.0)
    parser.add_argument("--churn-seconds", type=float, default=5.0,
                        help="seconds between two controller state changes")
    parser.add_argument("--drop-minutes", type=float, default=0.0,
                        help="the CSMS closes the connection this often (0: never)")
    parser.add_argument("--heartbeat", type=int, default=60, help="the CSMS's Boot interval")
    parser.add_argument("--period", type=float, default=7.5, help="the controller's STAT period")
    parser.add_argument("--csv", help="also write the samples to this file")
    args = parser.parse_args()

    info = benchlib.machine()
    print(f"machine: {info['nproc']} x {info['cpu']}, {info['memory_mib']} MiB, "
          f"kernel {info['kernel']}; station {args.station}; {args.minutes:g} min, "
          f"a state change every {args.churn_seconds:g} s", flush=True)
    failures = []
    with tempfile.TemporaryDirectory(prefix="ocpp-soak-") as directory:
        csms, port = benchlib.start_csms(args.python, {
            "control": True, "boot": {"statuses": ["Accepted"], "interval": args.heartbeat}})
        _, listening = csms.wait_for("control port", lambda e: e.get("event") == "control_listening")
        control = None
        link = os.path.join(directory, benchlib.ADAPTER)
        fake = benchlib.start_fake(link, args.period)
        env = benchlib.station_env(port, IDENTITY, "2.0.1", directory, {
            "ESP32_PORT": link,
            "ESP32_BY_ID_DIR": directory,
            "OCPP_PING_SECONDS": "30",
        })
        station = benchlib.Process(benchlib.station_command(args.station, args.python), env=env)
        samples = []
        counts = {"status": 0, "connections": 0, "heartbeats": 0, "invalid": 0, "calls": 0}
        last_status = None

        def tally():
            nonlocal last_status
            for e in csms.drain():
                kind = e.get("event")
                if kind == "validation_error":
                    counts["invalid"] += 1
                    print(f"INVALID: {json.dumps(e)[:400]}", flush=True)
                elif kind == "connected":
                    counts["connections"] += 1
                elif kind == "recv" and e.get("message_type") == 2:
                    counts["calls"] += 1
                    if e.get("action") == "Heartbeat":
                        counts["heartbeats"] += 1
                    if benchlib.is_status_call(e) and e["payload"].get("evseId") == 1:
                        counts["status"] += 1
                        last_status = e["payload"].get("connectorStatus")
            fake.drain()

        try:
            csms.wait_for("the connector Available", lambda e: benchlib.is_status_call(e)
                          and e.get("payload", {}).get("connectorStatus") == "Available")
            time.sleep(2)
            if args.drop_minutes > 0:
                import socket
                control = socket.create_connection(("127.0.0.1", listening["port"]))
            started = time.monotonic()
            end = started + args.minutes * 60
            next_sample = started
            next_churn = started + args.churn_seconds
            next_drop = started + args.drop_minutes * 60 if args.drop_minutes > 0 else None
            step = 0
            _, _, ticks0 = benchlib.sample(station.pid)
            print(f"{'minute':>7} {'RSS MiB':>8} {'HWM MiB':>8} {'CPU s':>7} {'CPU %':>6} "
                  f"{'status':>6} {'conns':>5}", flush=True)
            while True:
                now = time.monotonic()
                if not station.alive():
                    failures.append("the station exited:\n" + "".join(station.stderr[-30:]))
                    break
                if now >= next_sample:
                    rss, hwm, ticks = benchlib.sample(station.pid)
                    tally()
                    cpu = (ticks - ticks0) / benchlib.CLK_TCK
                    elapsed = max(now - started, 1e-9)
                    samples.append((round(elapsed, 1), rss, hwm, cpu))
                    print(f"{elapsed / 60:7.2f} {rss / 1024:8.2f} {hwm / 1024:8.2f} "
                          f"{cpu:7.2f} {cpu / elapsed * 100:6.3f} {counts['status']:6d} "
                          f"{counts['connections']:5d}", flush=True)
                    next_sample += args.sample_seconds
                if now >= end:
                    break
                if now >= next_churn:
                    state, pb = SESSION[step % len(SESSION)]
                    step += 1
                    fake.send({"state": state, "set": {"PB": pb}, "stat_now": True})
                    next_churn += args.churn_seconds
                if next_drop is not None and now >= next_drop:
                    control.sendall(b'{"id": "drop", "close": 1001}\n')
                    next_drop += args.drop_minutes * 60
                time.sleep(max(0.0, min(next_sample, next_churn, end) - time.monotonic()))
            # The last state reaches the CSMS.
            if not failures and step:
                state, _ = SESSION[(step - 1) % len(SESSION)]
                expected = SHOWN_201.get(state, "Occupied")
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline:
                    tally()
                    if last_status == expected:
                        break
                    time.sleep(0.2)
                if last_status != expected:
                    failures.append(f"the CSMS's last status is {last_status}, the controller's "
                                    f"state says {expected}")
            tally()
        finally:
            code = station.stop()
            fake.stop()
            csms.stop()
            if control is not None:
                control.close()
        if code not in (0, None) and not failures:
            failures.append(f"the station exited with {code} on SIGTERM")
        if counts["invalid"]:
            failures.append(f"the CSMS saw {counts['invalid']} invalid messages")

    if args.csv:
        with open(args.csv, "w", encoding="utf-8") as f:
            f.write("seconds,rss_kb,hwm_kb,cpu_seconds\n")
            for row in samples:
                f.write(",".join(str(v) for v in row) + "\n")
    if samples:
        first, last = samples[0], samples[-1]
        rss_max = max(s[1] for s in samples)
        elapsed = max(last[0], 1e-9)
        print(f"\nRSS {first[1] / 1024:.2f} MiB at the start, {last[1] / 1024:.2f} MiB at the end "
              f"(max {rss_max / 1024:.2f}, growth {(last[1] - first[1]) / 1024:+.2f} MiB); "
              f"CPU {last[3]:.2f} s in {elapsed / 60:.1f} min = "
              f"{last[3] / elapsed * 3600:.1f} s per hour ({last[3] / elapsed * 100:.3f} %)")
        print(f"{counts['calls']} CALLs from the station, {counts['status']} StatusNotifications "
              f"for EVSE 1, {counts['heartbeats']} Heartbeats, {counts['connections']} "
              f"connections")
    for failure in failures:
        print(f"FAILED: {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
