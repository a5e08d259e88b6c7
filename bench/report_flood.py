#!/usr/bin/env python3
"""What a flood of GetBaseReport requests costs the station in memory.

Runs the station binary against the test CSMS (tests/csms/csms.py), once per scenario, and
sends `--requests` GetBaseReport(FullInventory) back to back through the CSMS's control port:

    answered   the CSMS answers every NotifyReport at once
    withheld   the CSMS never answers a NotifyReport (each part waits for the call timeout)

For each it prints the station's resident memory (VmRSS from /proc/<pid>/status) before the
flood, the highest value sampled every 20 ms from the first request until the station is
quiet again, and after it, side by side, with how the requests were answered. A figure, not
a verdict: compare the columns, and the runs of two builds.

    .venv/bin/python bench/report_flood.py                         # target/release/ocpp-station
    .venv/bin/python bench/report_flood.py --requests 10000 --connectors 8
    .venv/bin/python bench/report_flood.py --station target/debug/ocpp-station --requests 500

Needs the Python of the test suite (tests/csms/requirements.txt) and a built station
(`cargo build --release`).
"""

import argparse
import json
import os
import socket
import sys
import tempfile
import threading
import time

import benchlib

IDENTITY = "BENCH_FLOOD_01"
PREFIX = "flood"


def rss_kib(pid):
    rss, _, _ = benchlib.sample(pid)
    return rss


class PeakSampler:
    """Samples a process's VmRSS in the background and keeps the highest value."""

    def __init__(self, pid, every=0.02):
        self.pid = pid
        self.every = every
        self.peak = 0
        self.running = True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while self.running:
            try:
                self.peak = max(self.peak, rss_kib(self.pid))
            except (OSError, ValueError):
                return
            time.sleep(self.every)

    def stop(self):
        self.running = False
        self.thread.join()
        return self.peak


def is_answer(event):
    return (
        event.get("event") == "recv"
        and event.get("message_type") in (3, 4)
        and str(event.get("unique_id", "")).startswith(PREFIX)
    )


def is_last_part(event):
    return (
        event.get("event") == "recv"
        and event.get("action") == "NotifyReport"
        and event.get("message_type") == 2
        and event.get("payload", {}).get("tbc") is not True
    )


def run(args, scenario):
    """One scenario; returns its row of figures."""
    config = {"control": True, "boot": {"statuses": ["Accepted"], "interval": 3600}}
    if scenario == "withheld":
        config["answers"] = {"NotifyReport": [{"drop": True, "times": 10**9}]}
    with tempfile.TemporaryDirectory(prefix="report-flood-") as directory:
        csms, port = benchlib.start_csms(args.python, config)
        station = None
        control = None
        try:
            _, listening = csms.wait_for(
                "control port", lambda e: e.get("event") == "control_listening"
            )
            env = benchlib.station_env(port, IDENTITY, "2.0.1", directory, {
                "OCPP_CONNECTORS": str(args.connectors),
                "OCPP_CALL_TIMEOUT_SECONDS": str(args.call_timeout),
            })
            station = benchlib.Process(
                benchlib.station_command(args.station, args.python), env=env
            )
            csms.wait_for("the startup event",
                          lambda e: e.get("event") == "recv"
                          and e.get("action") == "SecurityEventNotification")
            time.sleep(args.settle)
            before = rss_kib(station.pid)

            control = socket.create_connection(("127.0.0.1", listening["port"]))
            frame = json.dumps([2, PREFIX, "GetBaseReport",
                                {"requestId": 1, "reportBase": "FullInventory"}])
            sampler = PeakSampler(station.pid)
            started = time.monotonic()
            control.sendall((json.dumps({"id": "flood", "send": frame, "repeat": args.requests,
                                         "unique_ids": True}) + "\n").encode())
            csms.wait_for("the flood sent",
                          lambda e: e.get("event") == "control_done" and e.get("id") == "flood",
                          deadline=args.deadline)
            until = time.monotonic() + args.deadline
            while csms.count(is_answer) < args.requests:
                if time.monotonic() > until or not station.alive():
                    raise TimeoutError(f"{scenario}: not every request was answered")
                time.sleep(0.05)
            answered = time.monotonic() - started
            with csms.lock:
                answers = [e for e in csms.events if is_answer(e)]
            statuses = {}
            for e in answers:
                key = e.get("payload", {}).get("status") or e.get("error_code") or "?"
                statuses[key] = statuses.get(key, 0) + 1
            # Quiet again: every accepted report has sent its last part.
            accepted = statuses.get("Accepted", 0)
            while csms.count(is_last_part) < accepted:
                if time.monotonic() > until or not station.alive():
                    raise TimeoutError(f"{scenario}: a report never finished")
                time.sleep(0.05)
            time.sleep(args.settle)
            peak = sampler.stop()
            after = rss_kib(station.pid)
            _, hwm, _ = benchlib.sample(station.pid)
            return {
                "scenario": scenario,
                "requests": args.requests,
                "answers": statuses,
                "answered_in_s": round(answered, 2),
                "rss_before_mib": round(before / 1024, 2),
                "rss_peak_mib": round(peak / 1024, 2),
                "rss_after_mib": round(after / 1024, 2),
                "hwm_mib": round(hwm / 1024, 2),
                "alive": station.alive(),
            }
        finally:
            if control is not None:
                control.close()
            if station is not None:
                station.stop()
            csms.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--station", default=os.path.join(benchlib.ROOT, "target", "release",
                                                          "ocpp-station"))
    parser.add_argument("--python", default=sys.executable,
                        help="Python with tests/csms/requirements.txt (for the CSMS)")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--connectors", type=int, default=8,
                        help="EVSEs of the station: the more, the larger a full report")
    parser.add_argument("--call-timeout", type=int, default=2,
                        help="OCPP_CALL_TIMEOUT_SECONDS: how long a withheld part waits")
    parser.add_argument("--settle", type=float, default=2.0,
                        help="seconds of quiet before the 'before' and 'after' samples")
    parser.add_argument("--deadline", type=float, default=600.0)
    parser.add_argument("--scenario", choices=["answered", "withheld"], action="append",
                        help="run only this one (may be repeated)")
    args = parser.parse_args()
    if not os.path.exists(args.station):
        parser.error(f"{args.station} does not exist: cargo build --release, or --station")

    info = benchlib.machine()
    print(f"machine: {info['nproc']} x {info['cpu']}, {info['memory_mib']} MiB, "
          f"kernel {info['kernel']}; station {args.station}; {args.connectors} EVSEs, "
          f"{args.requests} GetBaseReport(FullInventory) back to back", flush=True)
    rows = [run(args, scenario) for scenario in args.scenario or ["answered", "withheld"]]
    print(f"{'scenario':>9} {'requests':>8} {'answers':>28} {'before':>8} {'peak':>8} "
          f"{'after':>8} {'HWM':>8}  (RSS, MiB)")
    for row in rows:
        answers = ", ".join(f"{k} {v}" for k, v in sorted(row["answers"].items()))
        print(f"{row['scenario']:>9} {row['requests']:>8} {answers:>28} "
              f"{row['rss_before_mib']:>8.2f} {row['rss_peak_mib']:>8.2f} "
              f"{row['rss_after_mib']:>8.2f} {row['hwm_mib']:>8.2f}")
    for row in rows:
        print(json.dumps(row))


if __name__ == "__main__":
    main()
