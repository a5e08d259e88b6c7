#!/usr/bin/env python3
"""ocpp-station next to the Python reference station (bench/python_station.py, on the `ocpp`
package), against the same loopback CSMS (tests/csms/csms.py). Run through bench/run.sh, which
builds the station and finds the Python of the test suite.

Measured for both:
- `--once` wall time (hyperfine when installed, otherwise a timed loop), OCPP 2.0.1;
- `--once` peak RSS (`/usr/bin/time -v`, otherwise the kernel's rusage of the child);
- the daemon at rest with a charge controller on a pty (STAT every 7.5 s, Heartbeat 300 s,
  WebSocket ping 30 s): RSS and CPU time over `--idle-seconds`, CPU extrapolated to an hour;
  and the same without a charge controller over `--bare-seconds`;
- STAT line -> StatusNotification latency at the CSMS (bench/esp32_latency.py);
- what has to be installed: the release binary, or the script plus its Python packages.

Prints a table with ratios (python / ocpp-station: how many times more the reference takes)
and, next to each of the project's targets, this run's figure; a verdict only where the run
measured what the target is defined for (bench/targets.py). `--json FILE` keeps every number.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import benchlib
import targets
from benchlib import ROOT

IDENTITY = "BENCH_ST_01"


def once_env(port, state_dir):
    return benchlib.station_env(port, IDENTITY, "2.0.1", state_dir)


def check_once(command, env):
    """One run, which must succeed: a benchmark of a failing command measures nothing."""
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise RuntimeError(
            f"{' '.join(command)} failed ({result.returncode}):\n{result.stdout}{result.stderr}"
        )


def wall_time(commands, env, runs, warmup):
    """Mean, median, min and stddev of the wall time in ms, per command."""
    hyperfine = shutil.which("hyperfine")
    results = {}
    if hyperfine:
        with tempfile.TemporaryDirectory() as scratch:
            out = os.path.join(scratch, "hyperfine.json")
            argv = [hyperfine, "-N", "--warmup", str(warmup), "--runs", str(runs),
                    "--export-json", out, "--style", "basic"]
            argv += [" ".join(command) for command in commands.values()]
            subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL)
            with open(out, encoding="utf-8") as f:
                report = json.load(f)
        for name, entry in zip(commands, report["results"]):
            times = [t * 1000 for t in entry["times"]]
            results[name] = summary(times)
        return "hyperfine", results
    for name, command in commands.items():
        for _ in range(warmup):
            check_once(command, env)
        times = []
        for _ in range(runs):
            started = time.perf_counter_ns()
            subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
            times.append((time.perf_counter_ns() - started) / 1e6)
        results[name] = summary(times)
    return "timed loop", results


def summary(times):
    return {
        "runs": len(times),
        "mean_ms": round(statistics.mean(times), 2),
        "median_ms": round(statistics.median(times), 2),
        "min_ms": round(min(times), 2),
        "stddev_ms": round(statistics.stdev(times), 2) if len(times) > 1 else 0.0,
    }


def peak_rss_kb(command, env, runs):
    """The median of the peak RSS over `runs` runs, in kB."""
    gnu_time = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None
    peaks = []
    for _ in range(runs):
        if gnu_time:
            result = subprocess.run([gnu_time, "-v"] + command, env=env, capture_output=True,
                                    text=True, timeout=120)
            if result.returncode != 0:
                raise RuntimeError(f"{' '.join(command)} failed:\n{result.stderr}")
            line = next(l for l in result.stderr.splitlines()
                        if "Maximum resident set size" in l)
            peaks.append(int(line.rsplit(":", 1)[1]))
        else:
            child = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
            _, status, usage = os.wait4(child.pid, 0)
            if status != 0:
                raise RuntimeError(f"{' '.join(command)} failed ({status})")
            peaks.append(usage.ru_maxrss)
    return statistics.median(peaks), "/usr/bin/time -v" if gnu_time else "rusage"


def idle(name, command, python, seconds, directory, settle, controller=True):
    """The daemon at rest for `seconds`: RSS and CPU from /proc. With `controller`, a fake
    charge controller on a pty sends a STAT every 7.5 s; without, the connector is Unavailable."""
    csms, port = benchlib.start_csms(python)
    state_dir = tempfile.mkdtemp(prefix=f"{name}-state-", dir=directory)
    extra = {"OCPP_PING_SECONDS": "30"}
    fake = None
    if controller:
        link = os.path.join(directory, f"{name}-{benchlib.ADAPTER}")
        fake = benchlib.start_fake(link, 7.5)
        extra.update({"ESP32_PORT": link, "ESP32_BY_ID_DIR": directory})
    env = benchlib.station_env(port, IDENTITY, "2.0.1", state_dir, extra)
    station = benchlib.Process(command, env=env)
    expected = "Available" if controller else "Unavailable"
    try:
        csms.wait_for(f"the connector {expected}", lambda e: benchlib.is_status_call(e)
                      and e.get("payload", {}).get("connectorStatus") == expected)
        # Let what follows the first status (the startup event, a STAT or two) pass.
        time.sleep(settle)
        rss0, _, ticks0 = benchlib.sample(station.pid)
        samples = [rss0]
        started = time.monotonic()
        while time.monotonic() - started < seconds:
            time.sleep(min(1.0, max(0.0, seconds - (time.monotonic() - started))))
            if not station.alive():
                raise RuntimeError(f"{name} exited while idle:\n{''.join(station.stderr[-20:])}")
            samples.append(benchlib.sample(station.pid)[0])
        elapsed = time.monotonic() - started
        rss1, hwm, ticks1 = benchlib.sample(station.pid)
        ticks = ticks1 - ticks0
        cpu_seconds = ticks / benchlib.CLK_TCK
        return {
            "seconds": round(elapsed, 1),
            "rss_kb_start": rss0,
            "rss_kb_end": rss1,
            "rss_kb_max": max(samples + [rss1]),
            "hwm_kb": hwm,
            "cpu_ticks": ticks,
            "cpu_seconds": cpu_seconds,
            "cpu_seconds_per_hour": round(cpu_seconds / elapsed * 3600, 3),
            "cpu_percent": round(cpu_seconds / elapsed * 100, 4),
        }
    finally:
        station.stop()
        if fake is not None:
            fake.stop()
        csms.stop()


def latency(station, python, transitions, versions, gap):
    """bench/esp32_latency.py for one station: {version: result}."""
    argv = [python, os.path.join(ROOT, "bench", "esp32_latency.py"), "--station", station,
            "--python", python, "--transitions", str(transitions), "--versions", versions,
            "--gap", str(gap)]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        raise RuntimeError(f"esp32_latency.py failed for {station}:\n{result.stderr}")
    out = {}
    for line in result.stdout.splitlines():
        entry = json.loads(line)
        if "ocpp" in entry:
            out[entry["ocpp"]] = entry
    return out


def du_kb(path):
    total = 0
    for base, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(base, name)).st_size
            except OSError:
                pass
    return total / 1024


def python_install_kb(python):
    """The script plus the packages it imports (the interpreter itself not counted)."""
    code = (
        "import importlib.util, json, os\n"
        "names = ['ocpp', 'websockets', 'jsonschema', 'jsonschema_specifications',"
        " 'referencing', 'rpds', 'attrs']\n"
        "paths = {}\n"
        "for n in names:\n"
        "    s = importlib.util.find_spec(n)\n"
        "    if s and s.submodule_search_locations:\n"
        "        paths[n] = list(s.submodule_search_locations)[0]\n"
        "print(json.dumps(paths))\n"
    )
    paths = json.loads(subprocess.run([python, "-c", code], capture_output=True, text=True,
                                      check=True).stdout)
    packages = sum(du_kb(p) for p in paths.values())
    return os.path.getsize(benchlib.PYTHON_STATION) / 1024 + packages, sorted(paths)


def ratio(python_value, rust_value):
    if rust_value in (None, 0) or python_value is None:
        return "-"
    return f"{python_value / rust_value:.1f}x"


def fmt(value, digits=1):
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--station", required=True, help="the ocpp-station binary")
    parser.add_argument("--python", required=True, help="Python with tests/csms/requirements.txt")
    parser.add_argument("--build", default="release",
                        help="the cargo profile and target, for the report")
    parser.add_argument("--profile", default="release", help="the cargo profile built")
    parser.add_argument("--target", default="host",
                        help="the target triple built, or host (this machine's glibc)")
    parser.add_argument("--quick", action="store_true", help="a few seconds of each measurement")
    parser.add_argument("--runs", type=int, help="--once runs per station (30; quick 3)")
    parser.add_argument("--idle-seconds", type=float, help="idle window (300; quick 3)")
    parser.add_argument("--bare-seconds", type=float,
                        help="idle window without a charge controller (60; quick 2)")
    parser.add_argument("--transitions", type=int, help="latency samples per version (20; quick 3)")
    parser.add_argument("--json", help="also write every number to this file")
    args = parser.parse_args()
    runs = args.runs or (3 if args.quick else 30)
    warmup = 1 if args.quick else 5
    idle_seconds = args.idle_seconds or (3 if args.quick else 300)
    bare_seconds = args.bare_seconds or (2 if args.quick else 60)
    transitions = args.transitions or (3 if args.quick else 20)
    versions = "2.0.1" if args.quick else "2.0.1,1.6"
    python = args.python
    stations = {"rust": os.path.abspath(args.station), "python": benchlib.PYTHON_STATION}
    commands = {name: benchlib.station_command(path, python) + ["--once"]
                for name, path in stations.items()}
    info = benchlib.machine()
    report = {"machine": info, "build": args.build, "quick": args.quick}
    print(f"machine: {info['nproc']} x {info['cpu']}, {info['memory_mib']} MiB, "
          f"kernel {info['kernel']} ({info['arch']}), Python {info['python']}", file=sys.stderr)

    with tempfile.TemporaryDirectory(prefix="ocpp-bench-") as directory:
        csms, port = benchlib.start_csms(python)
        try:
            env = once_env(port, directory)
            for command in commands.values():
                check_once(command, env)
            print(f"--once wall time ({runs} runs each)...", file=sys.stderr)
            tool, walls = wall_time(commands, env, runs, warmup)
            report["once_wall"] = {"tool": tool, **walls}
            print("--once peak RSS...", file=sys.stderr)
            rss = {}
            for name, command in commands.items():
                rss[name], rss_tool = peak_rss_kb(command, env, 1 if args.quick else 5)
            report["once_peak_rss_kb"] = {"tool": rss_tool, **rss}
            errors = csms.count(lambda e: e.get("event") == "validation_error")
            if errors:
                raise RuntimeError(f"the CSMS saw {errors} invalid messages")
        finally:
            csms.stop()

        report["idle"] = {}
        report["idle_bare"] = {}
        settle = 1 if args.quick else 5
        for name, command in commands.items():
            print(f"{name} daemon at rest for {idle_seconds:g} s...", file=sys.stderr)
            report["idle"][name] = idle(name, command[:-1], python, idle_seconds, directory,
                                        settle)
            print(f"{name} daemon at rest without a charge controller for {bare_seconds:g} s...",
                  file=sys.stderr)
            report["idle_bare"][name] = idle(f"{name}-bare", command[:-1], python, bare_seconds,
                                             directory, settle, controller=False)

    report["latency"] = {}
    for name, path in stations.items():
        print(f"{name}: STAT -> StatusNotification, {transitions} transitions...",
              file=sys.stderr)
        report["latency"][name] = latency(path, python, transitions, versions,
                                          0.3 if args.quick else 0.7)

    rust_kb = os.path.getsize(stations["rust"]) / 1024
    python_kb, packages = python_install_kb(python)
    report["install_kb"] = {"rust": round(rust_kb), "python": round(python_kb),
                            "python_packages": packages}

    rows = []
    w = report["once_wall"]
    rows.append((f"--once wall time, mean (ms, {w['tool']})",
                 w["rust"]["mean_ms"], w["python"]["mean_ms"]))
    rows.append(("--once wall time, min (ms)", w["rust"]["min_ms"], w["python"]["min_ms"]))
    p = report["once_peak_rss_kb"]
    rows.append(("--once peak RSS (MiB)", p["rust"] / 1024, p["python"] / 1024))
    i = report["idle"]
    rows.append((f"idle daemon RSS after {idle_seconds:g} s (MiB)",
                 i["rust"]["rss_kb_end"] / 1024, i["python"]["rss_kb_end"] / 1024))
    rows.append((f"idle daemon CPU over {idle_seconds:g} s (ticks of 1/{benchlib.CLK_TCK} s)",
                 i["rust"]["cpu_ticks"], i["python"]["cpu_ticks"]))
    rows.append(("idle daemon CPU, extrapolated (s per hour)",
                 i["rust"]["cpu_seconds_per_hour"], i["python"]["cpu_seconds_per_hour"]))
    b = report["idle_bare"]
    rows.append((f"  without a controller: RSS after {bare_seconds:g} s (MiB)",
                 b["rust"]["rss_kb_end"] / 1024, b["python"]["rss_kb_end"] / 1024))
    rows.append((f"  without a controller: CPU over {bare_seconds:g} s (ticks)",
                 b["rust"]["cpu_ticks"], b["python"]["cpu_ticks"]))
    for version in versions.split(","):
        lr = report["latency"]["rust"][version]
        lp = report["latency"]["python"][version]
        rows.append((f"STAT -> StatusNotification {version}, median (ms)",
                     lr["median_ms"], lp["median_ms"]))
        rows.append((f"STAT -> StatusNotification {version}, p95 (ms)",
                     lr["p95_ms"], lp["p95_ms"]))
    rows.append(("installed size (KiB; binary vs script + packages)", rust_kb, python_kb))

    label = f"ocpp-station ({args.build})"
    width = max(len(r[0]) for r in rows)
    lines = [f"{'':{width}}  {label:>22}  {'python + ocpp':>14}  {'ratio':>7}"]
    for name, rust_value, python_value in rows:
        lines.append(f"{name:{width}}  {fmt(rust_value, 2):>22}  {fmt(python_value, 2):>14}  "
                     f"{ratio(python_value, rust_value):>7}")
    table = "\n".join(lines)
    judged = targets.judge(report, args.quick, args.profile, args.target, runs, idle_seconds,
                           bare_seconds)
    report["targets"] = targets.as_json(judged)
    print(table)
    print()
    print(targets.table(judged))
    if args.quick:
        print("(quick mode: a few seconds of each measurement, to check that the benchmark "
              "works; the numbers are not meant to be quoted)")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(report, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
