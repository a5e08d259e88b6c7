#!/usr/bin/env python3
"""A configurable CSMS for the integration tests of ocpp-station.

Built on the `ocpp` package (mobilityhouse), which carries the official OCPP 1.6J and 2.0.1 JSON
schemas, and on `websockets`. One process, one JSON configuration:

    csms.py --config '{"port": 0, "password": "...", "boot": {"statuses": ["Accepted"]}}'
    csms.py --config-file csms.json

The first line on stdout is `{"event": "listening", "port": N, ...}`; after it, one JSON object
per line for every event (see `Csms.emit` callers): `connected`, `rejected_upgrade`, `recv`,
`sent`, `validation_error`, `disconnected`, `script_done`. Every event carries `t`, a monotonic
clock in seconds, meant for ordering only. Diagnostics go to stderr. The password and the
Authorization header never appear in any output.

Configuration keys (all optional):

    host              "127.0.0.1"
    port              0 (ephemeral); a fixed port can be reused at once by a restarted process
    routes            [{"prefix": "/ocpp201", "subprotocols": ["ocpp2.0.1"]},
                       {"prefix": "/ocpp16", "subprotocols": ["ocpp1.6"]}]
                      the station URL is <prefix>/<identity>; other paths get HTTP 404
    subprotocol_mode  "normal": select the first subprotocol of the station's offer that the
                      route supports, or none at all (upgrade completes without the header);
                      "omit": never send the header
    password          Basic auth required (user = identity); missing or wrong -> HTTP 401
    tls               {"cert": path, "key": path} -> wss (optionally "client_ca": path to
                      require a client certificate)
    boot              {"statuses": ["Pending", "Accepted"], "interval": 300}: the N-th
                      BootNotification of this process gets the N-th status, the last repeats
    after_boot        frames sent verbatim once a Boot was answered Accepted on a connection:
                      [{"frame": "<text>", "repeat": N, "size_bytes": N, "delay_seconds": S}]
"""

import argparse
import asyncio
import base64
import binascii
import json
import logging
import re
import signal
import ssl
import sys
import time
import urllib.parse
from datetime import datetime, timezone
from http import HTTPStatus

from ocpp.exceptions import OCPPError
from ocpp.messages import Call, CallResult, validate_payload
from ocpp.routing import after, on
from ocpp.v16 import ChargePoint as ChargePoint16
from ocpp.v16 import call_result as result16
from ocpp.v16.enums import Action as Action16
from ocpp.v201 import ChargePoint as ChargePoint201
from ocpp.v201 import call_result as result201
from ocpp.v201.enums import Action as Action201
from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed

SUBPROTOCOL_VERSIONS = {"ocpp2.0.1": "2.0.1", "ocpp1.6": "1.6"}

CALL_ERROR_CODES = {
    "2.0.1": {
        "FormatViolation",
        "GenericError",
        "InternalError",
        "MessageTypeNotSupported",
        "NotImplemented",
        "NotSupported",
        "OccurrenceConstraintViolation",
        "PropertyConstraintViolation",
        "ProtocolError",
        "RpcFrameworkError",
        "SecurityError",
        "TypeConstraintViolation",
    },
    "1.6": {
        "NotImplemented",
        "NotSupported",
        "InternalError",
        "ProtocolError",
        "SecurityError",
        "FormationViolation",
        "PropertyConstraintViolation",
        "OccurenceConstraintViolation",
        "TypeConstraintViolation",
        "GenericError",
    },
}

TIMESTAMP_LIKE = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2})?")
TIMESTAMP_OK = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$")

DEFAULT_CONFIG = {
    "host": "127.0.0.1",
    "port": 0,
    "routes": [
        {"prefix": "/ocpp201", "subprotocols": ["ocpp2.0.1"]},
        {"prefix": "/ocpp16", "subprotocols": ["ocpp1.6"]},
    ],
    "subprotocol_mode": "normal",
    "password": None,
    "tls": None,
    "boot": {"statuses": ["Accepted"], "interval": 300},
    "after_boot": [],
}

LOG = logging.getLogger("csms")


def emit(event, **fields):
    """Write one event line to stdout, flushed at once."""
    line = json.dumps({"event": event, "t": time.monotonic(), **fields})
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def utc_now():
    """The current time as the station should see it: UTC, milliseconds, `Z`."""
    now = datetime.now(timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def load_config(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--config", help="configuration as one JSON object")
    group.add_argument("--config-file", help="path of a JSON configuration file")
    args = parser.parse_args(argv)
    if args.config_file:
        with open(args.config_file, encoding="utf-8") as f:
            given = json.load(f)
    elif args.config:
        given = json.loads(args.config)
    else:
        given = {}
    if not isinstance(given, dict):
        parser.error("the configuration must be a JSON object")
    unknown = sorted(set(given) - set(DEFAULT_CONFIG))
    if unknown:
        parser.error(f"unknown configuration keys: {', '.join(unknown)}")
    config = {**DEFAULT_CONFIG, **given}
    config["boot"] = {**DEFAULT_CONFIG["boot"], **(given.get("boot") or {})}
    if not config["boot"]["statuses"]:
        parser.error("boot.statuses must not be empty")
    if config["subprotocol_mode"] not in ("normal", "omit"):
        parser.error("subprotocol_mode must be 'normal' or 'omit'")
    return config


def find_nulls_and_timestamps(value, path="$"):
    """Yield (path, problem) for every JSON null and every badly formed timestamp string."""
    if value is None:
        yield path, "JSON null (absent optional fields must be omitted)"
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from find_nulls_and_timestamps(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from find_nulls_and_timestamps(item, f"{path}[{index}]")
    elif isinstance(value, str) and TIMESTAMP_LIKE.match(value):
        if not TIMESTAMP_OK.match(value):
            yield path, (
                f"timestamp {value!r} is not UTC 'Z' with at most 3 fractional digits"
            )


def pad_frame(text, size_bytes):
    """Grow the payload object of a CALL frame to about `size_bytes` of text."""
    frame = json.loads(text)
    if not (isinstance(frame, list) and frame and isinstance(frame[-1], dict)):
        raise ValueError("size_bytes needs a frame whose last element is an object")
    frame[-1]["padding"] = ""
    base = len(json.dumps(frame))
    frame[-1]["padding"] = "x" * max(0, size_bytes - base)
    return json.dumps(frame)


class Session:
    """One WebSocket connection from a station: taps every frame in both directions."""

    def __init__(self, csms, ws, number, identity, version):
        self.csms = csms
        self.ws = ws
        self.number = number
        self.identity = identity
        self.version = version
        # Unique ids of CALLs the CSMS sent on this connection -> action, to validate answers.
        self.pending = {}
        self.last_boot_status = None
        self.script_task = None

    def fields(self):
        return {"conn": self.number, "identity": self.identity}

    # The `ocpp` ChargePoint reads and writes through these two methods.
    async def recv(self):
        raw = await self.ws.recv()
        await self.inspect_received(raw)
        if isinstance(raw, bytes):
            # OCPP-J is text only; let the library see it as (invalid) text.
            raw = raw.decode("utf-8", errors="replace")
        return raw

    async def send(self, text):
        self.note_sent(text)
        await self.ws.send(text)

    def note_sent(self, text):
        event = {"raw": text, "size": len(text)}
        try:
            frame = json.loads(text)
        except ValueError:
            frame = None
        if isinstance(frame, list) and frame:
            event["message_type"] = frame[0]
            if len(frame) > 1:
                event["unique_id"] = frame[1]
            if frame[0] == 2 and len(frame) == 4 and isinstance(frame[1], str):
                event["action"] = frame[2]
                if isinstance(frame[2], str):
                    self.pending[frame[1]] = frame[2]
        emit("sent", **self.fields(), **event)

    def validation_error(self, message, **extra):
        emit("validation_error", **self.fields(), version=self.version, message=message, **extra)

    async def inspect_received(self, raw):
        event = {}
        if isinstance(raw, bytes):
            event["binary"] = True
            text = raw.decode("utf-8", errors="replace")
            self.validation_error("binary frame (OCPP-J uses text frames only)")
        else:
            text = raw
        event["raw"] = text
        try:
            frame = json.loads(text)
        except ValueError:
            frame = None
            self.validation_error("frame is not valid JSON", raw=text[:1000])
        action = None
        if isinstance(frame, list) and frame:
            kind = frame[0]
            event["message_type"] = kind
            if len(frame) > 1:
                event["unique_id"] = frame[1]
            if kind == 2 and len(frame) == 4:
                action = frame[2]
                event["action"] = action
                event["payload"] = frame[3]
            elif kind == 3 and len(frame) == 3:
                action = self.pending.get(frame[1]) if isinstance(frame[1], str) else None
                if action is not None:
                    event["action"] = action
                event["payload"] = frame[2]
            elif kind == 4 and len(frame) == 5:
                event["error_code"] = frame[2]
                event["error_description"] = frame[3]
                event["error_details"] = frame[4]
        emit("recv", **self.fields(), **event)
        if frame is not None:
            await self.check_frame(frame, action)

    async def check_frame(self, frame, action):
        for path, problem in find_nulls_and_timestamps(frame):
            self.validation_error(problem, path=path, action=action, frame=frame)
        if not isinstance(frame, list) or not frame:
            self.validation_error("an OCPP-J frame is a non-empty JSON array", frame=frame)
            return
        kind = frame[0]
        unique_id = frame[1] if len(frame) > 1 else None
        if not isinstance(unique_id, str) or not 1 <= len(unique_id) <= 36:
            self.validation_error("message id must be a string of 1 to 36 characters", frame=frame)
        if kind == 2:
            if len(frame) != 4 or not isinstance(frame[2], str) or not isinstance(frame[3], dict):
                self.validation_error("CALL must be [2, id, action, {payload}]", frame=frame)
                return
            await self.validate(Call(unique_id, frame[2], frame[3]), "CALL", frame[2], frame[3])
        elif kind == 3:
            if len(frame) != 3 or not isinstance(frame[2], dict):
                self.validation_error("CALLRESULT must be [3, id, {payload}]", frame=frame)
                return
            if isinstance(unique_id, str):
                self.pending.pop(unique_id, None)
            if action is not None:
                result = CallResult(unique_id, frame[2], action=action)
                await self.validate(result, "CALLRESULT", action, frame[2])
        elif kind == 4:
            if (
                len(frame) != 5
                or not isinstance(frame[2], str)
                or not isinstance(frame[3], str)
                or not isinstance(frame[4], dict)
            ):
                self.validation_error(
                    "CALLERROR must be [4, id, code, description, {details}]", frame=frame
                )
                return
            if frame[2] not in CALL_ERROR_CODES[self.version]:
                self.validation_error(
                    f"{frame[2]!r} is not an OCPP {self.version} CallError code", frame=frame
                )
            if isinstance(unique_id, str):
                self.pending.pop(unique_id, None)
        else:
            self.validation_error(f"unknown message type {kind!r}", frame=frame)

    async def validate(self, message, kind, action, payload):
        try:
            await validate_payload(message, self.version)
        except OCPPError as error:
            cause = error.details.get("cause") if isinstance(error.details, dict) else None
            self.validation_error(
                f"{kind} {action} fails the OCPP {self.version} schema: "
                f"{cause or error.description or error}",
                kind=kind,
                action=action,
                payload=payload,
            )

    def boot_answered(self, status):
        self.last_boot_status = status

    def after_boot(self):
        if self.last_boot_status == "Accepted" and self.script_task is None:
            self.script_task = asyncio.ensure_future(self.run_script())

    async def run_script(self):
        try:
            for item in self.csms.config["after_boot"]:
                if isinstance(item, str):
                    item = {"frame": item}
                text = item["frame"]
                if item.get("size_bytes"):
                    text = pad_frame(text, int(item["size_bytes"]))
                for _ in range(int(item.get("repeat", 1))):
                    if item.get("delay_seconds"):
                        await asyncio.sleep(float(item["delay_seconds"]))
                    await self.send(text)
            emit("script_done", **self.fields())
        except ConnectionClosed:
            pass
        except Exception as error:  # a broken script is a test bug: say so loudly
            LOG.exception("after_boot script failed")
            emit("script_failed", **self.fields(), error=str(error))


def make_handlers(base, result, action):
    """A ChargePoint class answering what a station sends, for one OCPP version."""

    class Handlers(base):
        def __init__(self, session):
            super().__init__(session.identity, session, response_timeout=30)
            self.session = session

        @on(action.boot_notification)
        def on_boot_notification(self, **_payload):
            status = self.session.csms.next_boot_status()
            self.session.boot_answered(status)
            return result.BootNotification(
                current_time=utc_now(),
                interval=int(self.session.csms.config["boot"]["interval"]),
                status=status,
            )

        @after(action.boot_notification)
        def after_boot_notification(self, **_payload):
            self.session.after_boot()

        @on(action.heartbeat)
        def on_heartbeat(self, **_payload):
            return result.Heartbeat(current_time=utc_now())

        @on(action.status_notification)
        def on_status_notification(self, **_payload):
            return result.StatusNotification()

        @on(action.security_event_notification)
        def on_security_event_notification(self, **_payload):
            return result.SecurityEventNotification()

        @on(action.data_transfer)
        def on_data_transfer(self, **_payload):
            return result.DataTransfer(status="Accepted")

        if hasattr(action, "notify_event"):

            @on(action.notify_event)
            def on_notify_event(self, **_payload):
                return result.NotifyEvent()

    return Handlers


HANDLERS = {
    "2.0.1": make_handlers(ChargePoint201, result201, Action201),
    "1.6": make_handlers(ChargePoint16, result16, Action16),
}


class Csms:
    def __init__(self, config):
        self.config = config
        self.boots = 0
        self.connections = 0

    def next_boot_status(self):
        statuses = self.config["boot"]["statuses"]
        status = statuses[min(self.boots, len(statuses) - 1)]
        self.boots += 1
        return status

    def route_for(self, path):
        """(route, identity) for a request path, or (None, reason)."""
        path = path.split("?", 1)[0]
        best = None
        for route in self.config["routes"]:
            prefix = route["prefix"].rstrip("/")
            if path.startswith(prefix + "/") and (
                best is None or len(prefix) > len(best["prefix"].rstrip("/"))
            ):
                best = route
        if best is None:
            return None, "no route for this path"
        rest = path[len(best["prefix"].rstrip("/")) + 1 :]
        if not rest or "/" in rest:
            return None, "the path must be <prefix>/<identity>"
        return best, urllib.parse.unquote(rest)

    def check_authorization(self, headers, identity):
        """'ok', 'not_required', 'missing' or 'wrong'. Never reveals the header."""
        password = self.config["password"]
        if password is None:
            return "not_required"
        header = headers.get("Authorization")
        if header is None:
            return "missing"
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return "wrong"
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return "wrong"
        user, sep, given = decoded.partition(":")
        if not sep or user != identity or given != password:
            return "wrong"
        return "ok"

    @staticmethod
    def offered(headers):
        values = []
        for header in headers.get_all("Sec-WebSocket-Protocol"):
            values.extend(v.strip() for v in header.split(",") if v.strip())
        return values

    def process_request(self, connection, request):
        route, identity = self.route_for(request.path)
        if route is None:
            emit("rejected_upgrade", path=request.path, status=404, why=identity)
            return connection.respond(HTTPStatus.NOT_FOUND, "Not Found\n")
        authorization = self.check_authorization(request.headers, identity)
        if authorization in ("missing", "wrong"):
            emit(
                "rejected_upgrade",
                path=request.path,
                status=401,
                why=f"authorization {authorization}",
                identity=identity,
                authorization=authorization,
            )
            response = connection.respond(HTTPStatus.UNAUTHORIZED, "Unauthorized\n")
            response.headers["WWW-Authenticate"] = 'Basic realm="ocpp"'
            return response
        return None

    def select_subprotocol(self, connection, offered):
        if self.config["subprotocol_mode"] == "omit":
            return None
        route, _ = self.route_for(connection.request.path)
        supported = route["subprotocols"] if route else []
        for candidate in offered:
            if candidate in supported:
                return candidate
        return None

    async def handler(self, ws):
        self.connections += 1
        number = self.connections
        request = ws.request
        route, identity = self.route_for(request.path)
        selected = ws.subprotocol
        # Without an agreed subprotocol the CSMS keeps speaking the route's first version,
        # as a real one would; the station is expected to close.
        version = SUBPROTOCOL_VERSIONS.get(selected) or SUBPROTOCOL_VERSIONS.get(
            route["subprotocols"][0], "2.0.1"
        )
        emit(
            "connected",
            conn=number,
            path=request.path,
            identity=identity,
            subprotocols_offered=self.offered(request.headers),
            subprotocol=selected,
            version=version,
            authorization=self.check_authorization(request.headers, identity),
            tls=bool(self.config["tls"]),
        )
        session = Session(self, ws, number, identity, version)
        charge_point = HANDLERS[version](session)
        try:
            await charge_point.start()
        except ConnectionClosed:
            pass
        finally:
            if session.script_task is not None:
                session.script_task.cancel()
            protocol = ws.protocol
            rcvd, sent = protocol.close_rcvd, protocol.close_sent
            emit(
                "disconnected",
                conn=number,
                identity=identity,
                code=rcvd.code if rcvd else None,
                reason=rcvd.reason if rcvd else None,
                code_sent=sent.code if sent else None,
                initiated_by=(
                    None
                    if protocol.close_rcvd_then_sent is None
                    else ("station" if protocol.close_rcvd_then_sent else "csms")
                ),
            )


async def main(argv):
    config = load_config(argv)
    csms = Csms(config)
    ssl_context = None
    if config["tls"]:
        ssl_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ssl_context.load_cert_chain(config["tls"]["cert"], config["tls"]["key"])
        if config["tls"].get("client_ca"):
            ssl_context.verify_mode = ssl.CERT_REQUIRED
            ssl_context.load_verify_locations(config["tls"]["client_ca"])

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)

    async with serve(
        csms.handler,
        config["host"],
        int(config["port"]),
        process_request=csms.process_request,
        select_subprotocol=csms.select_subprotocol,
        ssl=ssl_context,
        max_size=16 * 2**20,
        reuse_address=True,
    ) as server:
        port = server.sockets[0].getsockname()[1]
        emit("listening", port=port, host=config["host"], tls=ssl_context is not None)
        await stop.wait()
        server.close()
        await server.wait_closed()
    emit("stopped")


if __name__ == "__main__":
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING)
    try:
        asyncio.run(main(sys.argv[1:]))
    except KeyboardInterrupt:
        pass
