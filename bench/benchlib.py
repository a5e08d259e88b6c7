"""Shared pieces of the benchmark and soak scripts (bench/bench.py, bench/soak.py): child
processes whose JSON event lines are collected, the test CSMS and the fake charge controller,
the station's environment, and /proc sampling. Python standard library only."""

import json
import os
import platform
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CSMS = os.path.join(ROOT, "tests", "csms", "csms.py")
FAKE = os.path.join(ROOT, "tests", "esp32", "fake_controller.py")
PYTHON_STATION = os.path.join(ROOT, "bench", "python_station.py")
ADAPTER = "usb-Silicon_Labs_CP2102_USB_to_UART_Bridge_Controller_0001-if00-port0"
PASSWORD = "bench-password-not-secret"
DEADLINE = 60.0
CLK_TCK = os.sysconf("SC_CLK_TCK")


class Process:
    """A child whose stdout lines (JSON events) are collected; stderr is kept too."""

    def __init__(self, argv, env=None, stdin=False):
        self.argv = argv
        self.child = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            text=True,
            bufsize=1,
        )
        self.pid = self.child.pid
        self.events = []
        self.lock = threading.Condition()
        self.stderr = []
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()

    def _read(self):
        for line in self.child.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                event = {"event": "unparsable", "line": line}
            with self.lock:
                self.events.append(event)
                self.lock.notify_all()

    def _read_stderr(self):
        for line in self.child.stderr:
            self.stderr.append(line)
            if len(self.stderr) > 2000:
                del self.stderr[:1000]

    def wait_for(self, what, predicate, start=0, deadline=DEADLINE):
        """The first event at or after position `start` matching `predicate`, and its index."""
        until = time.monotonic() + deadline
        with self.lock:
            while True:
                for index in range(start, len(self.events)):
                    if predicate(self.events[index]):
                        return index, self.events[index]
                left = until - time.monotonic()
                if left <= 0:
                    tail = "".join(self.stderr[-20:])
                    raise TimeoutError(f"no {what} within {deadline} s\n{tail}")
                self.lock.wait(left)

    def drain(self):
        """Every event so far, forgotten here (long runs keep memory flat this way)."""
        with self.lock:
            events, self.events = self.events, []
            return events

    def count(self, predicate):
        with self.lock:
            return sum(1 for e in self.events if predicate(e))

    def send(self, command):
        self.child.stdin.write(json.dumps(command) + "\n")
        self.child.stdin.flush()

    def alive(self):
        return self.child.poll() is None

    def stop(self, timeout=10):
        """SIGTERM, then SIGKILL; returns the exit code."""
        if self.child.poll() is None:
            self.child.terminate()
            try:
                self.child.wait(timeout)
            except subprocess.TimeoutExpired:
                self.child.kill()
                self.child.wait()
        return self.child.returncode


def machine():
    """nproc, CPU model, memory, kernel: what a result must be read with."""
    fields = {}
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                key, sep, value = line.partition(":")
                if sep:
                    fields.setdefault(key.strip().lower(), value.strip())
    except OSError:
        pass
    cpu = fields.get("model name") or fields.get("hardware") or platform.machine()
    memory_kb = None
    try:
        with open("/proc/meminfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    memory_kb = int(line.split()[1])
    except OSError:
        pass
    info = {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "memory_mib": round(memory_kb / 1024) if memory_kb else None,
        "kernel": platform.release(),
        "arch": platform.machine(),
        "python": platform.python_version(),
    }
    board = fields.get("model")
    if board and not board.isdigit():
        info["board"] = board
    return info


def sample(pid):
    """(VmRSS kB, VmHWM kB, utime+stime clock ticks) of a running process."""
    rss = hwm = None
    with open(f"/proc/{pid}/status", encoding="utf-8") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
            elif line.startswith("VmHWM:"):
                hwm = int(line.split()[1])
    with open(f"/proc/{pid}/stat", encoding="utf-8") as f:
        stat = f.read()
    # The command name may hold spaces and parentheses: the fields start after the last ')'.
    rest = stat[stat.rindex(")") + 2 :].split()
    ticks = int(rest[11]) + int(rest[12])  # fields 14 (utime) and 15 (stime)
    return rss, hwm, ticks


def start_csms(python, extra=None):
    """The test CSMS (Boot Accepted, interval 300, Basic auth), listening; returns it and its
    port."""
    config = {
        "routes": [
            {"prefix": "/ocpp201", "subprotocols": ["ocpp2.0.1"]},
            {"prefix": "/ocpp16", "subprotocols": ["ocpp1.6"]},
        ],
        "password": PASSWORD,
        "boot": {"statuses": ["Accepted"], "interval": 300},
    }
    config.update(extra or {})
    csms = Process([python, CSMS, "--config", json.dumps(config)])
    _, listening = csms.wait_for("CSMS listening", lambda e: e.get("event") == "listening")
    return csms, listening["port"]


def start_fake(link, period):
    fake = Process([sys.executable, FAKE, "--link", link, "--period", str(period)], stdin=True)
    fake.wait_for("fake controller ready", lambda e: e.get("event") == "ready")
    return fake


def station_env(port, identity, version="2.0.1", state_dir=None, extra=None):
    """The environment both stations read (ocpp-station and bench/python_station.py)."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "OCPP_STATION_NAME": identity,
        "OCPP_STATION_PASSWORD": PASSWORD,
        "OCPP_PRIMARY": version,
        "OCPP_201_URL": f"ws://127.0.0.1:{port}/ocpp201",
        "OCPP_16_URL": f"ws://127.0.0.1:{port}/ocpp16",
        "OCPP_LOG": "warn",
    }
    if state_dir:
        env["OCPP_STATE_DIR"] = state_dir
        env["OCPP_RUNTIME_DIR"] = state_dir
    env.update(extra or {})
    return env


def station_command(station, python):
    """How to run a station: a binary as it is, a `.py` script with the test suite's Python."""
    return [python, station] if station.endswith(".py") else [station]


def is_status_call(event, identity=None):
    return (
        event.get("event") == "recv"
        and event.get("message_type") == 2
        and event.get("action") == "StatusNotification"
        and (identity is None or event.get("identity") == identity)
    )
