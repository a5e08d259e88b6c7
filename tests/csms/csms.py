#!/usr/bin/env python3
"""A configurable CSMS for the integration tests of ocpp-station.

Built on the `ocpp` package (mobilityhouse), which carries the official OCPP 1.6J and 2.0.1 JSON
schemas, and on `websockets`. One process, one JSON configuration:

    csms.py --config '{"port": 0, "password": "...", "boot": {"statuses": ["Accepted"]}}'
    csms.py --config-file csms.json

The first line on stdout is `{"event": "listening", "port": N, ...}`; after it, one JSON object
per line for every event (see `Csms.emit` callers): `connected`, `rejected_upgrade`, `recv`,
`sent`, `validation_error`, `disconnected`, `script_done`, `misbehaved` (see `answers`) (and
with `control`: `control_listening`, `control_done`, `control_error`). Every event carries `t`, a
monotonic clock in seconds, meant for ordering only. Diagnostics go to stderr. The password and
the Authorization header never appear in any output.

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
    control           true: also listen on a loopback TCP port for commands, announced by the
                      event `{"event": "control_listening", "port": N}` (see below)
    answers           how the CSMS answers the station's CALLs, per action:
                      {"Heartbeat": [{"delay_seconds": 7}, {}, {"twice": true}]}: the N-th
                      CALL of that action (counted over the process) is answered as the N-th
                      entry says, later ones normally; an entry combines
                        "delay_seconds": S  answer S seconds late (other frames flow meanwhile)
                        "twice": true       send the answer, then the same answer again
                        "wrong_id": true    answer with another message id (and never with the
                                            right one)
                        "drop": true        never answer
                        "size_bytes": N     pad the answer's payload to about N bytes of text
                        "merge": {..}       set these payload fields verbatim, unchecked (a
                                            hostile answer: {"interval": 1e300})
                        "send_first": [..]  frames sent before the answer (CALLs crossing the
                                            station's outstanding CALL)
                        "times": N          this entry answers the next N CALLs, not just one
                      each use is announced by a `misbehaved` event

`after_boot` items may also say `"unique_ids": true`: with `repeat`, the message id of the N-th
copy gets the suffix `-N` (N from 1), so that every copy can be answered on its own.

The control port takes one JSON object per line; each is applied in turn and acknowledged with
`{"event": "control_done", "id": <its id>, ...}` or `{"event": "control_error", "id": ...,
"message": ...}`:

    {"id": "c1", "send": "<raw frame>"}     send the frame on the newest open connection (or on
                                            connection "conn": N); CALLs are tracked like the
                                            script's, so the station's answer is validated
                                            against the schema of that action's response;
                                            with "repeat": N send it N times back to back, and
                                            with "unique_ids": true the N-th copy's message id
                                            gets the suffix `-N` (N from 1)
    {"id": "c2", "password": "<new>"}       from now on require this password (null: none);
                                            the value is never printed
    {"id": "c3", "close": 1001}             close the newest open connection with this code
                                            (and "reason": "<text>", default "closed by the
                                            test")
    {"id": "c4", "answers": {...}}          replace the `answers` behaviour of the actions
                                            named (their counts start again from 0)
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
    "control": False,
    "answers": {},
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
    answers = given.get("answers") or {}
    if not isinstance(answers, dict) or not all(
        isinstance(plan, list) and all(isinstance(how, dict) for how in plan)
        for plan in answers.values()
    ):
        parser.error("answers must map actions to lists of objects")
    config["answers"] = dict(answers)
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
        # Unique ids of the station's CALLs not answered yet -> action (for `answers`).
        self.station_calls = {}
        # Answers sent late, cancelled with the connection.
        self.late_tasks = set()

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
        how = self.misbehaviour(text)
        if how is None:
            await self.send_now(text)
            return
        for frame in how.get("send_first", []):
            await self.send_now(frame)
        if how.get("drop"):
            return
        frame = json.loads(text)
        if how.get("wrong_id"):
            frame[1] = "wrong-" + str(frame[1])[:30]
        if isinstance(how.get("merge"), dict) and isinstance(frame[-1], dict):
            frame[-1].update(how["merge"])
        if how.get("size_bytes") and isinstance(frame[-1], dict):
            text = pad_frame(json.dumps(frame), int(how["size_bytes"]))
        else:
            text = json.dumps(frame)
        copies = 2 if how.get("twice") else 1
        delay = float(how.get("delay_seconds") or 0)
        if delay > 0:
            task = asyncio.ensure_future(self.send_later(delay, text, copies))
            self.late_tasks.add(task)
            task.add_done_callback(self.late_tasks.discard)
            return
        for _ in range(copies):
            await self.send_now(text)

    async def send_now(self, text):
        self.note_sent(text)
        await self.ws.send(text)

    async def send_later(self, delay, text, copies):
        try:
            await asyncio.sleep(delay)
            for _ in range(copies):
                await self.send_now(text)
        except ConnectionClosed:
            pass

    def misbehaviour(self, text):
        """The `answers` entry for this answer to a station CALL, or None (answer normally)."""
        if not self.station_calls:
            return None
        try:
            frame = json.loads(text)
        except ValueError:
            return None
        if not (isinstance(frame, list) and len(frame) >= 3 and frame[0] in (3, 4)):
            return None
        unique_id = frame[1]
        action = self.station_calls.pop(unique_id, None) if isinstance(unique_id, str) else None
        if action is None or frame[0] != 3 or len(frame) != 3:
            return None
        how = self.csms.next_answer(action)
        if how:
            emit("misbehaved", **self.fields(), action=action, unique_id=unique_id, how=how)
        return how or None

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
                if isinstance(frame[1], str) and isinstance(action, str):
                    self.station_calls[frame[1]] = action
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
                for n in range(int(item.get("repeat", 1))):
                    if item.get("delay_seconds"):
                        await asyncio.sleep(float(item["delay_seconds"]))
                    if item.get("unique_ids"):
                        copy = json.loads(text)
                        copy[1] = f"{copy[1]}-{n + 1}"
                        await self.send(json.dumps(copy))
                    else:
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

        if hasattr(action, "notify_report"):

            @on(action.notify_report)
            def on_notify_report(self, **_payload):
                return result.NotifyReport()

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
        # Open connections by number, for the control port.
        self.sessions = {}
        self.control_writers = set()
        # Station CALLs seen per action, for `answers`.
        self.answer_counts = {}

    def next_answer(self, action):
        """The `answers` entry for the next CALL of `action` (an empty dict: normal)."""
        plan = self.config["answers"].get(action) or []
        count = self.answer_counts.get(action, 0)
        self.answer_counts[action] = count + 1
        for how in plan:
            times = int(how.get("times", 1))
            if count < times:
                return {key: value for key, value in how.items() if key != "times"}
            count -= times
        return {}

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
        self.sessions[number] = session
        try:
            await charge_point.start()
        except ConnectionClosed:
            # An answer of ours that fails because the station closed first ends start()
            # with frames the station sent before its close still unread: read them, so that
            # the events show everything the station sent.
            try:
                while True:
                    await session.recv()
            except ConnectionClosed:
                pass
        finally:
            self.sessions.pop(number, None)
            if session.script_task is not None:
                session.script_task.cancel()
            for task in list(session.late_tasks):
                task.cancel()
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

    def control_target(self, command):
        """The session a control command addresses: `conn`, or the newest open one."""
        if "conn" in command:
            return self.sessions.get(command["conn"])
        return self.sessions[max(self.sessions)] if self.sessions else None

    async def control_command(self, command):
        """Apply one control command; returns the extra fields of `control_done`."""
        if "send" in command:
            session = self.control_target(command)
            if session is None:
                raise ValueError("no open connection to send on")
            text = command["send"]
            if not isinstance(text, str):
                raise ValueError("send takes the raw frame as a string")
            repeat = int(command.get("repeat", 1))
            for n in range(repeat):
                if command.get("unique_ids"):
                    copy = json.loads(text)
                    copy[1] = f"{copy[1]}-{n + 1}"
                    await session.send(json.dumps(copy))
                else:
                    await session.send(text)
            return {"conn": session.number, "sent": repeat}
        if "password" in command:
            password = command["password"]
            if password is not None and not isinstance(password, str):
                raise ValueError("password takes a string or null")
            self.config["password"] = password
            return {"password_required": password is not None}
        if "close" in command:
            session = self.control_target(command)
            if session is None:
                raise ValueError("no open connection to close")
            reason = command.get("reason", "closed by the test")
            if not isinstance(reason, str):
                raise ValueError("reason takes a string")
            await session.ws.close(code=int(command["close"]), reason=reason)
            return {"conn": session.number}
        if "answers" in command:
            answers = command["answers"]
            if not isinstance(answers, dict):
                raise ValueError("answers takes an object: action -> list of behaviours")
            for action, plan in answers.items():
                self.config["answers"][action] = plan
                self.answer_counts[action] = 0
            return {"answers": sorted(answers)}
        raise ValueError("unknown control command (send, password, close or answers)")

    async def control_client(self, reader, writer):
        """One control connection: JSON lines in, `control_done`/`control_error` events out."""
        self.control_writers.add(writer)
        try:
            while line := await reader.readline():
                if not line.strip():
                    continue
                ident = None
                try:
                    command = json.loads(line)
                    if not isinstance(command, dict):
                        raise ValueError("a command is a JSON object")
                    ident = command.get("id")
                    extra = await self.control_command(command)
                except Exception as error:  # a bad command is a test bug: report it, go on
                    emit("control_error", id=ident, message=str(error))
                    continue
                emit("control_done", id=ident, **extra)
        except (asyncio.CancelledError, ConnectionError):
            pass  # the CSMS is stopping, or the test went away
        finally:
            self.control_writers.discard(writer)
            writer.close()


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
        control = None
        if config["control"]:
            # A command line may carry a frame of several MiB.
            control = await asyncio.start_server(
                csms.control_client, "127.0.0.1", 0, limit=64 * 2**20
            )
            emit("control_listening", port=control.sockets[0].getsockname()[1])
        await stop.wait()
        if control is not None:
            control.close()
            for writer in list(csms.control_writers):
                writer.close()
        server.close()
        await server.wait_closed()
    emit("stopped")


if __name__ == "__main__":
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING)
    try:
        asyncio.run(main(sys.argv[1:]))
    except KeyboardInterrupt:
        pass
