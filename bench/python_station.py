#!/usr/bin/env python3
"""A charge-point client in Python on the `ocpp` package: the reference the benchmarks compare
ocpp-station with (bench/run.sh, bench/esp32_latency.py).

It does what such a station usually does with `ocpp` and `websockets`: one `ChargePoint` per
connection (outgoing messages validated against the official schemas, as the package does by
default), BootNotification, a StatusNotification per connector, Heartbeats on a timer, and the
charge controller's STAT lines read from its serial port and turned into StatusNotifications.
It reads the same variables as ocpp-station:

    OCPP_STATION_NAME, OCPP_STATION_PASSWORD, OCPP_PRIMARY (2.0.1 or 1.6), OCPP_201_URL,
    OCPP_16_URL, OCPP_HEARTBEAT_SECONDS (0: the CSMS's interval), OCPP_PING_SECONDS (30),
    OCPP_CONNECTORS (1), OCPP_VENDOR, OCPP_MODEL, OCPP_CALL_TIMEOUT_SECONDS (30),
    ESP32_PORT (unset: no controller, connectors Unavailable)

    python_station.py --once     Boot, StatusNotification per connector, Heartbeat, close;
                                 one JSON line on stdout; exit 0 when all were answered
    python_station.py            run until SIGTERM/SIGINT, reconnecting when the link drops

Needs the Python of the test suite (tests/csms/requirements.txt).
"""

import argparse
import asyncio
import base64
import json
import logging
import os
import signal
import sys
import termios
import time
import tty
from datetime import datetime, timezone

from ocpp.v16 import ChargePoint as ChargePoint16
from ocpp.v16 import call as call16
from ocpp.v201 import ChargePoint as ChargePoint201
from ocpp.v201 import call as call201
from websockets.asyncio.client import connect

LOG = logging.getLogger("python-station")

READ_STATUS = bytes([0x41, 0x00, 0x2C, 0x00, 0x10])

STATUS_201 = {1: "Available", 0: "Faulted", 8: "Faulted"}
STATUS_16 = {
    1: "Available",
    2: "Preparing",
    3: "Preparing",
    4: "Preparing",
    5: "Charging",
    6: "SuspendedEV",
    7: "Finishing",
    0: "Faulted",
    8: "Faulted",
}


def utc_now():
    now = datetime.now(timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


class Settings:
    def __init__(self, env):
        self.identity = env.get("OCPP_STATION_NAME", "PY_STATION")
        self.password = env.get("OCPP_STATION_PASSWORD")
        primary = env.get("OCPP_PRIMARY", "2.0.1").lower().replace("ocpp", "").replace("v", "")
        self.version = "1.6" if primary in ("1.6", "1.6j", "16") else "2.0.1"
        url = env.get("OCPP_16_URL" if self.version == "1.6" else "OCPP_201_URL", "")
        if not url:
            raise SystemExit(f"no URL for OCPP {self.version}")
        self.url = url if url.rstrip("/").endswith("/" + self.identity) else (
            url.rstrip("/") + "/" + self.identity
        )
        self.heartbeat = int(env.get("OCPP_HEARTBEAT_SECONDS") or 0)
        self.ping = int(env.get("OCPP_PING_SECONDS") or 30)
        self.connectors = int(env.get("OCPP_CONNECTORS") or 1)
        self.vendor = env.get("OCPP_VENDOR") or "python-station"
        self.model = env.get("OCPP_MODEL") or "AC-Pi"
        self.timeout = int(env.get("OCPP_CALL_TIMEOUT_SECONDS") or 30)
        self.port = env.get("ESP32_PORT") or None


class Station:
    """One station process: the connection, the registration, the connectors."""

    def __init__(self, settings):
        self.s = settings
        self.v16 = settings.version == "1.6"
        self.call = call16 if self.v16 else call201
        # Controller state per connector (None: no controller yet).
        self.states = {c: None for c in range(1, settings.connectors + 1)}
        self.pb = 0
        self.reported = {}
        self.cp = None
        self.interval = 300
        self.stop = asyncio.Event()
        self.changed = asyncio.Event()

    # --- messages ---------------------------------------------------------------------------

    def boot(self):
        if self.v16:
            return self.call.BootNotification(
                charge_point_model=self.s.model, charge_point_vendor=self.s.vendor
            )
        return self.call.BootNotification(
            charging_station={"model": self.s.model, "vendor_name": self.s.vendor},
            reason="PowerUp",
        )

    def status_of(self, connector):
        state = self.states.get(connector)
        if self.v16:
            if connector == 0:
                return "Available" if any(s is not None for s in self.states.values()) else (
                    "Unavailable"
                )
            if state is None:
                return "Unavailable"
            return STATUS_16.get(state, "Faulted")
        if state is None:
            return "Unavailable"
        return STATUS_201.get(state, "Occupied")

    def status_message(self, connector):
        status = self.status_of(connector)
        if self.v16:
            error = "NoError"
            if status == "Faulted":
                error = "GroundFailure" if self.pb == 2 else "OtherError"
            return self.call.StatusNotification(
                connector_id=connector, error_code=error, status=status, timestamp=utc_now()
            )
        return self.call.StatusNotification(
            timestamp=utc_now(), connector_status=status, evse_id=connector, connector_id=1
        )

    def connectors(self):
        first = 0 if self.v16 else 1
        return range(first, self.s.connectors + 1)

    async def send_statuses(self, only_changed):
        for connector in self.connectors():
            status = self.status_of(connector)
            if only_changed and self.reported.get(connector) == status:
                continue
            await self.cp.call(self.status_message(connector))
            self.reported[connector] = status

    # --- the link ---------------------------------------------------------------------------

    def dial(self):
        headers = {}
        if self.s.password is not None:
            token = base64.b64encode(f"{self.s.identity}:{self.s.password}".encode()).decode()
            headers["Authorization"] = f"Basic {token}"
        return connect(
            self.s.url,
            subprotocols=["ocpp1.6" if self.v16 else "ocpp2.0.1"],
            additional_headers=headers,
            ping_interval=self.s.ping or None,
            open_timeout=self.s.timeout,
        )

    def charge_point(self, ws):
        base = ChargePoint16 if self.v16 else ChargePoint201
        return base(self.s.identity, ws, response_timeout=self.s.timeout)

    async def once(self):
        """Boot, statuses, Heartbeat, close; the messages and their answers."""
        messages = []
        async with self.dial() as ws:
            self.cp = self.charge_point(ws)
            reader = asyncio.ensure_future(self.cp.start())
            try:
                answer = await self.cp.call(self.boot())
                messages.append({"action": "BootNotification", "status": answer.status})
                if answer.status == "Accepted":
                    for connector in self.connectors():
                        await self.cp.call(self.status_message(connector))
                        messages.append({"action": "StatusNotification", "connector": connector})
                    await self.cp.call(self.call.Heartbeat())
                    messages.append({"action": "Heartbeat"})
            finally:
                reader.cancel()
        return messages

    async def session(self, ws, booted):
        self.cp = self.charge_point(ws)
        reader = asyncio.ensure_future(self.cp.start())
        try:
            if not booted:
                while True:
                    answer = await self.cp.call(self.boot())
                    if answer.status == "Accepted":
                        self.interval = self.s.heartbeat or answer.interval or 300
                        break
                    await asyncio.sleep(answer.interval or 60)
                await self.send_statuses(only_changed=False)
            else:
                await self.send_statuses(only_changed=True)
            while not self.stop.is_set():
                waiter = asyncio.ensure_future(self.changed.wait())
                stopper = asyncio.ensure_future(self.stop.wait())
                done, pending = await asyncio.wait(
                    {waiter, stopper, reader}, timeout=self.interval,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                for task in (waiter, stopper):
                    if task not in done:
                        task.cancel()
                if reader in done:
                    return  # the connection ended
                if stopper in done:
                    return
                if waiter in done:
                    # Cleared before reading: a change during the sending is not lost.
                    self.changed.clear()
                    await self.send_statuses(only_changed=True)
                else:
                    await self.cp.call(self.call.Heartbeat())
        finally:
            reader.cancel()

    async def run(self):
        booted = False
        while not self.stop.is_set():
            try:
                async with self.dial() as ws:
                    await self.session(ws, booted)
                    booted = True
                    if self.stop.is_set():
                        await ws.close()
                        return
            except Exception as error:  # a station reconnects whatever went wrong
                LOG.warning("connection lost: %s", error)
            try:
                await asyncio.wait_for(self.stop.wait(), timeout=3)
            except asyncio.TimeoutError:
                pass

    # --- the charge controller ----------------------------------------------------------------

    async def controller(self):
        """Read STAT lines from ESP32_PORT; reopen it when it goes away."""
        loop = asyncio.get_running_loop()
        while not self.stop.is_set():
            try:
                fd = os.open(self.s.port, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
            except OSError:
                await asyncio.sleep(1)
                continue
            try:
                tty.setraw(fd)
                attributes = termios.tcgetattr(fd)
                attributes[4] = attributes[5] = termios.B115200
                termios.tcsetattr(fd, termios.TCSANOW, attributes)
            except termios.error:
                pass
            lost = asyncio.Event()
            buffer = bytearray()

            def readable():
                try:
                    data = os.read(fd, 4096)
                except BlockingIOError:
                    return
                except OSError:
                    data = b""
                if not data:
                    lost.set()
                    return
                buffer.extend(data)
                while True:
                    cut = min((i for i in (buffer.find(b"\n"), buffer.find(b"\r")) if i >= 0),
                              default=-1)
                    if cut < 0:
                        break
                    line = bytes(buffer[:cut]).decode("utf-8", errors="replace")
                    del buffer[: cut + 1]
                    self.on_line(line)
                if len(buffer) > 512:
                    buffer.clear()

            loop.add_reader(fd, readable)
            try:
                os.write(fd, READ_STATUS)
            except OSError:
                pass
            stopper = asyncio.ensure_future(self.stop.wait())
            await asyncio.wait(
                {asyncio.ensure_future(lost.wait()), stopper},
                return_when=asyncio.FIRST_COMPLETED,
            )
            loop.remove_reader(fd)
            os.close(fd)
            for connector in self.states:
                self.states[connector] = None
            self.changed.set()

    def on_line(self, line):
        at = line.rfind("<STAT;")
        if at < 0:
            return
        body = line[at + 6 :].split(">", 1)[0]
        fields = dict(part.split("=", 1) for part in body.split(";") if "=" in part)
        try:
            state = int(fields.get("STATE", ""))
        except ValueError:
            return
        pb = fields.get("PB", "0").strip()
        self.pb = int(pb) if pb.isdigit() else 0
        if self.states.get(1) != state:
            self.states[1] = state
            self.changed.set()


async def main_async(args):
    settings = Settings(os.environ)
    station = Station(settings)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, station.stop.set)
    if args.once:
        started = time.monotonic()
        try:
            messages = await asyncio.wait_for(station.once(), timeout=settings.timeout)
            ok = bool(messages) and messages[0].get("status") == "Accepted"
        except Exception as error:  # one line on stdout whatever happened
            messages, ok = [{"error": str(error)}], False
        print(json.dumps({
            "ok": ok,
            "messages": messages,
            "duration_ms": round((time.monotonic() - started) * 1000, 2),
        }))
        return 0 if ok else 1
    tasks = [asyncio.ensure_future(station.run())]
    if settings.port:
        tasks.append(asyncio.ensure_future(station.controller()))
    await station.stop.wait()
    await asyncio.wait(tasks, timeout=3)
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--once", action="store_true", help="Boot, statuses, Heartbeat, exit")
    args = parser.parse_args()
    level = os.environ.get("OCPP_LOG", "warning").upper()
    logging.basicConfig(stream=sys.stderr, level=getattr(logging, level, logging.WARNING))
    sys.exit(asyncio.run(main_async(args)))


if __name__ == "__main__":
    main()
