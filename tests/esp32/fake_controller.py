#!/usr/bin/env python3
"""A fake ESP32 charge controller on a pseudo-terminal, for the tests of ocpp-station.

It behaves like the field firmware described in /work/shared/ESP32-PROTOCOL.md (docs/esp32.md):
ASCII lines ending in CRLF towards the host, 5-byte binary commands from the host. Python 3
standard library only.

    fake_controller.py --link /tmp/x/usb-Silicon_Labs_CP2102_0001-if00-port0 --period 0.3

creates a pty, puts its slave side in raw mode and points the symlink `--link` at the slave (it
stands in for the `/dev/serial/by-id/` name of the USB adapter). The station opens the link as
its serial port.

stdout: one JSON object per line, each with `t` (time.monotonic(), comparable with the `t` of
tests/csms/csms.py on the same machine; for `sent`, taken just before the write):

    {"event": "ready", "link": ..., "device": "/dev/pts/N", "fields": {...}}
    {"event": "host_open"} / {"event": "host_closed"}   the host opened / closed the slave side
    {"event": "command", "bytes": "41002c0010", "name": "READSTAT", "value": 0, "reply": "ok"}
    {"event": "garbage", "bytes": "..."}                 bytes from the host that are no command
    {"event": "sent", "kind": "STAT", "line": "<STAT;...;>", "state": 5, "delivered": true}
    {"event": "vanished", "device": ...} / {"event": "returned", "link": ..., "device": ...}
    {"event": "done", "seq": N, "cmd": {...}}            stdin command N (from 1) is applied
    {"event": "error", "message": ...}                   a bad stdin command (the fake goes on)

`sent` has `delivered: false` when nobody had the port open (a real USB adapter drops what the
firmware prints while the host's port is closed) or the pty buffer was full; `kind` is STAT, ACK,
INFO, WARN, ERR, CARDEXISTS+STAT, BANNER, DEBUG, CUT, RANDOM (then `hex` instead of `line`) or
GARBAGE (then `bytes` and `delivered_bytes` instead of `line`).

stdin: one JSON object per line; its keys are applied in this order:

    {"state": 5}            STATE plus the fields the firmware shows with it (CP, PP, RL, PWM...)
    {"set": {"PB": 2, ...}} set fields verbatim (unknown keys are sent too; "ID" goes first)
    {"unset": ["CPV"]}      stop sending these keys
    {"speak": true}         back to normal after "silence"; a STAT follows at once
    {"reboot": true}        boot banner, fields back to IDLE
    {"noise": true}         INFO/WARN/ERR lines, a boot banner, a debug token, `<CARDEXISTS=1;>`
                            glued to the next STAT on one line, and a line of random bytes with
                            invalid UTF-8
    {"garbage": {"bytes": N, "line_ends": true}}
                            N random bytes at once (seeded by --seed); with "line_ends": false
                            no CR or LF among them, so they end up on one overlong line with
                            whatever follows (the host throws such a line away)
    {"cut": N}              the first N bytes of the current STAT line, without a line end: the
                            next line printed continues it (a line cut mid-way, as when the
                            firmware resets while printing); with "cut_eol": true the cut line
                            ends in CRLF instead
    {"stat_now": true}      one STAT at once (as if the period had elapsed)
    {"burst": [2, 1]}       for each state in turn: its fields ("state" above) and one STAT at
                            once, back to back (a cable plugged and pulled within one period)
    {"silence": true}       print nothing at all (a hung firmware: no STAT, no ACK); applied
                            after the keys above, so {"noise":true,"stat_now":true,"silence":true}
                            delivers exactly one (glued) STAT and then nothing
    {"vanish": true}        the adapter is unplugged: the pty master closes (the host sees
                            hang-up / EIO), the slave device and the symlink disappear
    {"return": true}        the adapter re-enumerates: a new pty on ANOTHER device name, the
                            symlink points at it, STATs resume
    {"quit": true}          exit

Firmware behaviour: a STAT every `--period` seconds (7.5 on the real controller); on read-status
one STAT then `<ACK;CMD=READSTAT;STATUS=OK;>`; authorize: `ACK AUTH OK` (AUTH=1) unless
STATE == 1, then silently ignored; set-max-current 6..32 A: MAX=A, `ACK SETMAXAMP OK` and the
firmware bug: STATE forced to 1; out of range: `ACK SETMAXAMP ERR`; stop: STATE=7, STOP=1, no
ACK; anything else: `ACK UNKNOWN ERR`.

    fake_controller.py --hold DEVICE

is another tool: open DEVICE the way a leftover station holding the port exclusively would
(TIOCEXCL plus flock(LOCK_EX), as pyserial's `exclusive=True` does), print
`{"event": "holding", ...}` and keep it until stdin closes or SIGTERM.

Exits on SIGTERM, SIGINT and stdin EOF; removes its symlink on the way out.
"""

import argparse
import fcntl
import json
import os
import random
import select
import signal
import sys
import termios
import time
import tty

FIELD_ORDER = [
    "CP",
    "CPV",
    "PP",
    "PPV",
    "RL",
    "LOCK",
    "MOTOR",
    "PWM",
    "MAX",
    "CABLE",
    "AUTH",
    "STATE",
    "PB",
    "STOP",
]

STATE_NAMES = {
    0: "HARDFAULT_END",
    1: "IDLE",
    2: "CABLE_DETECT",
    3: "EV_CONNECTED",
    4: "READY",
    5: "CHARGING",
    6: "PAUSED",
    7: "STOPPED",
    8: "FAULT_HARD",
}

# What the firmware shows together with each state (values as seen in the field).
STATE_FIELDS = {
    0: {"CP": 0, "CPV": 3931, "RL": 0, "LOCK": 0, "MOTOR": 0, "PWM": 255, "AUTH": 0, "STOP": 0},
    1: {
        "CP": 0,
        "CPV": 3931,
        "PP": 0,
        "PPV": 2457,
        "RL": 0,
        "LOCK": 0,
        "MOTOR": 0,
        "PWM": 255,
        "CABLE": 0,
        "AUTH": 0,
        "STOP": 0,
    },
    2: {"CP": 0, "CPV": 3931, "PP": 1, "PPV": 1520, "RL": 0, "PWM": 255, "CABLE": 20, "STOP": 0},
    3: {"CP": 1, "CPV": 2650, "PP": 1, "PPV": 1520, "RL": 0, "LOCK": 1, "PWM": 255, "CABLE": 20},
    4: {"CP": 1, "CPV": 2650, "PP": 1, "PPV": 1520, "RL": 1, "LOCK": 1, "PWM": 66, "AUTH": 1},
    5: {"CP": 2, "CPV": 1847, "PP": 1, "PPV": 1520, "RL": 1, "LOCK": 1, "PWM": 66, "AUTH": 1},
    6: {"CP": 1, "CPV": 2650, "PP": 1, "PPV": 1520, "RL": 1, "LOCK": 1, "PWM": 66, "AUTH": 1},
    7: {"CP": 1, "CPV": 2650, "RL": 0, "PWM": 255, "STOP": 1},
    8: {"CP": 3, "CPV": 512, "RL": 0, "PWM": 255},
}

IDLE_FIELDS = {
    "CP": 0,
    "CPV": 3931,
    "PP": 0,
    "PPV": 2457,
    "RL": 0,
    "LOCK": 0,
    "MOTOR": 0,
    "PWM": 255,
    "MAX": 16,
    "CABLE": 0,
    "AUTH": 0,
    "STATE": 1,
    "PB": 0,
    "STOP": 0,
}

BANNER = [
    "ets Jun  8 2016 00:22:57",
    "rst:0x1 (POWERON_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)",
    "EVSE controller firmware v4.8.0",
    "READY",
]

POLL_TICK = 0.05  # how often the fake looks for the host while nobody has the port open


def emit(event, at=None, **fields):
    """One event line; `t` is `at` when given (the moment something happened), else now."""
    t = time.monotonic() if at is None else at
    sys.stdout.write(json.dumps({"event": event, "t": t, **fields}) + "\n")
    sys.stdout.flush()


class Terminate(Exception):
    pass


def on_signal(_signum, _frame):
    raise Terminate()


def point_link(link, device):
    """Make `link` a symlink to `device`, atomically."""
    directory = os.path.dirname(os.path.abspath(link))
    os.makedirs(directory, exist_ok=True)
    temporary = os.path.join(directory, f".{os.path.basename(link)}.{os.getpid()}.tmp")
    try:
        os.unlink(temporary)
    except FileNotFoundError:
        pass
    os.symlink(device, temporary)
    os.replace(temporary, link)


def remove_link(link):
    try:
        os.unlink(link)
    except FileNotFoundError:
        pass


class Pty:
    """The firmware's side of the wire: a pty master whose slave is the host's serial port."""

    def __init__(self, avoid=None):
        spare = []
        while True:
            master, slave = os.openpty()
            device = os.ttyname(slave)
            if device != avoid or len(spare) > 8:
                break
            # Same name as the vanished device: keep it busy so that the next one differs,
            # as a re-enumerated USB adapter comes back as ttyUSB1 instead of ttyUSB0.
            spare.append((master, slave))
        for fds in spare:
            for fd in fds:
                os.close(fd)
        tty.setraw(slave)
        # Raw output too: the firmware's CRLF must reach the host as sent.
        attributes = termios.tcgetattr(slave)
        attributes[1] &= ~termios.OPOST
        termios.tcsetattr(slave, termios.TCSANOW, attributes)
        os.close(slave)  # the host opens it; until then the master sees POLLHUP
        os.set_blocking(master, False)
        self.master = master
        self.device = device
        self.host_open = False

    def close(self):
        if self.master is not None:
            os.close(self.master)
            self.master = None

    def check_host(self):
        """Whether someone has the slave open now (POLLHUP on the master says nobody does)."""
        poller = select.poll()
        poller.register(self.master, select.POLLIN)
        events = dict(poller.poll(0))
        return not events.get(self.master, 0) & select.POLLHUP

    def write(self, data):
        """Write to the host; False when nobody listens or the buffer is full (data dropped)."""
        if self.master is None or not self.host_open:
            return False
        try:
            written = os.write(self.master, data)
        except (BlockingIOError, OSError):
            return False
        return written == len(data)


class Firmware:
    def __init__(self, args):
        self.link = args.link
        self.period = args.period
        self.fields = dict(IDLE_FIELDS)
        self.silent = args.silent
        self.pty = Pty()
        self.vanished = False
        self.next_stat = time.monotonic() + self.period
        self.from_host = b""
        self.stdin_buffer = b""
        self.seq = 0
        self.glue_next = False
        self.last_device = self.pty.device
        point_link(self.link, self.pty.device)
        emit(
            "ready",
            link=self.link,
            device=self.pty.device,
            period=self.period,
            fields=self.fields,
            pid=os.getpid(),
        )

    # --- towards the host ---------------------------------------------------------------

    def stat_line(self):
        parts = []
        if "ID" in self.fields:
            parts.append(f"ID={self.fields['ID']}")
        keys = [k for k in FIELD_ORDER if k in self.fields]
        keys += [k for k in self.fields if k not in FIELD_ORDER and k != "ID"]
        parts += [f"{k}={self.fields[k]}" for k in keys]
        return "<STAT;" + ";".join(parts) + ";>"

    def send_text(self, kind, text, end="\r\n", **extra):
        if self.silent or self.vanished:
            return
        at = time.monotonic()
        delivered = self.pty.write((text + end).encode("ascii", errors="replace"))
        emit("sent", at=at, kind=kind, line=text, delivered=delivered, **extra)

    def send_stat(self):
        if self.silent or self.vanished:
            return
        line = self.stat_line()
        kind = "STAT"
        if self.glue_next:
            # An RFID result is printed without a line ending: the STAT lands on its line.
            line = "<CARDEXISTS=1;>" + line
            kind = "CARDEXISTS+STAT"
            self.glue_next = False
        self.send_text(kind, line, state=self.fields.get("STATE"), pb=self.fields.get("PB"))

    def ack(self, name, status):
        self.send_text("ACK", f"<ACK;CMD={name};STATUS={status};>")

    def noise(self):
        if self.silent or self.vanished:
            return
        for kind, line in [
            ("INFO", "<INFO;MSG=GF_COUNT;VAL=3;>"),
            ("WARN", "<WARN;MSG=GF_CONFIRMED;>"),
            ("INFO", "<INFO;MSG=FAULT_CLEARED;>"),
            ("WARN", "<WARN;MSG=FAULT_TIMEOUT_RESET;>"),
            ("ERR", "<ERR;INVALID_COMMA>"),
            ("DEBUG", "GF"),
            ("DEBUG", "dbg:pwm=66"),
        ]:
            self.send_text(kind, line)
        for line in BANNER:
            self.send_text("BANNER", line)
        raw = bytes(random.randrange(256) for _ in range(24))
        raw = raw.replace(b"\r", b".").replace(b"\n", b".").replace(b"<", b".")
        raw = b"\xff\xfe\x00" + raw + b"\xc3\x28 \xe2\x82 <ST\x80T;>"
        at = time.monotonic()
        delivered = self.pty.write(raw + b"\r\n")
        emit("sent", at=at, kind="RANDOM", hex=raw.hex(), delivered=delivered)
        self.glue_next = True

    def garbage(self, spec):
        """A flood of random bytes, written as fast as the host reads them."""
        if self.silent or self.vanished:
            return
        if not isinstance(spec, dict):
            raise ValueError('garbage takes {"bytes": N, "line_ends": true|false}')
        count = int(spec.get("bytes", 0))
        if not 0 < count <= 64 * 2**20:
            raise ValueError("garbage bytes must be 1 to 64 MiB")
        data = bytearray(random.randbytes(count))
        if not spec.get("line_ends", True):
            data = data.replace(b"\r", b".").replace(b"\n", b".")
        at = time.monotonic()
        delivered = self.write_all(bytes(data))
        emit("sent", at=at, kind="GARBAGE", bytes=count, delivered_bytes=delivered,
             delivered=delivered == count)

    def write_all(self, data, budget=10.0):
        """Write everything the host takes within `budget` seconds; returns the bytes written."""
        if self.pty.master is None or not self.pty.host_open:
            return 0
        written = 0
        deadline = time.monotonic() + budget
        while written < len(data) and time.monotonic() < deadline:
            try:
                written += os.write(self.pty.master, data[written : written + 4096])
            except BlockingIOError:
                select.select([], [self.pty.master], [], 0.05)
            except OSError:
                break
        return written

    def cut(self, count, eol):
        """The first `count` bytes of the current STAT line; the next line continues it."""
        if self.silent or self.vanished:
            return
        line = self.stat_line()[: max(0, int(count))]
        self.send_text("CUT", line, end="\r\n" if eol else "", state=self.fields.get("STATE"))

    # --- from the host ------------------------------------------------------------------

    def on_host_bytes(self, data):
        self.from_host += data
        while self.from_host:
            if self.from_host[0] != 0x41:
                cut = self.from_host.find(b"\x41")
                junk = self.from_host if cut < 0 else self.from_host[:cut]
                self.from_host = b"" if cut < 0 else self.from_host[cut:]
                emit("garbage", bytes=junk.hex())
                continue
            if len(self.from_host) < 5:
                return
            frame = self.from_host[:5]
            if frame[2] != 0x2C or frame[4] != 0x10:
                emit("garbage", bytes=frame[:1].hex())
                self.from_host = self.from_host[1:]
                continue
            self.from_host = self.from_host[5:]
            self.on_command(frame)

    def on_command(self, frame):
        code, value = frame[1], frame[3]
        state = self.fields.get("STATE")
        if code == 0x00:
            name, reply = "READSTAT", "ok"
        elif code == 0x01:
            name, reply = "AUTH", "ignored" if state == 1 else "ok"
        elif code == 0x02:
            name, reply = "SETMAXAMP", "ok" if 6 <= value <= 32 else "err"
        elif code == 0x04:
            name, reply = "STOP", "silent"
        else:
            name, reply = "UNKNOWN", "err"
        emit(
            "command",
            bytes=frame.hex(),
            name=name,
            value=value,
            reply="unanswered" if self.silent or self.vanished else reply,
            state=state,
        )
        if name == "READSTAT":
            self.send_stat()
            self.ack("READSTAT", "OK")
        elif name == "AUTH" and reply == "ok":
            self.fields["AUTH"] = 1
            self.ack("AUTH", "OK")
        elif name == "SETMAXAMP" and reply == "ok":
            self.fields["MAX"] = value
            self.fields["STATE"] = 1  # the firmware bug the host works around
            self.ack("SETMAXAMP", "OK")
        elif name == "SETMAXAMP":
            self.ack("SETMAXAMP", "ERR")
        elif name == "STOP":
            self.fields["STATE"] = 7
            self.fields["STOP"] = 1
        elif name == "UNKNOWN":
            self.ack("UNKNOWN", "ERR")

    # --- test commands --------------------------------------------------------------------

    def apply(self, command):
        if not isinstance(command, dict):
            raise ValueError("a command is a JSON object")
        known = {
            "state", "set", "unset", "speak", "reboot", "noise", "stat_now", "burst",
            "silence", "garbage", "cut", "cut_eol",
            "vanish", "return", "quit",
        }
        unknown = sorted(set(command) - known)
        if unknown:
            raise ValueError(f"unknown command keys {unknown}")
        if "state" in command:
            state = int(command["state"])
            if state not in STATE_FIELDS:
                raise ValueError(f"no such state {state}")
            self.fields.update(STATE_FIELDS[state])
            self.fields["STATE"] = state
        if "set" in command:
            for key, value in command["set"].items():
                self.fields[str(key)] = value
        for key in command.get("unset", []):
            self.fields.pop(key, None)
        if command.get("speak"):
            self.silent = False
            self.next_stat = time.monotonic()
        if command.get("reboot"):
            self.fields = dict(IDLE_FIELDS)
            for line in BANNER:
                self.send_text("BANNER", line)
        if command.get("noise"):
            self.noise()
        if "garbage" in command:
            self.garbage(command["garbage"])
        if "cut" in command:
            self.cut(command["cut"], command.get("cut_eol", False))
        if command.get("stat_now"):
            self.send_stat()
        for state in command.get("burst", []):
            self.apply({"state": state})
            self.send_stat()
        if command.get("silence"):
            self.silent = True
        if command.get("vanish") and not self.vanished:
            self.vanished = True
            remove_link(self.link)
            self.pty.close()
            self.from_host = b""
            emit("vanished", device=self.last_device)
        if command.get("return") and self.vanished:
            self.pty = Pty(avoid=self.last_device)
            self.last_device = self.pty.device
            self.vanished = False
            self.glue_next = False
            point_link(self.link, self.pty.device)
            self.next_stat = time.monotonic()
            emit("returned", link=self.link, device=self.pty.device)
        if command.get("quit"):
            raise Terminate()

    def on_stdin(self, data):
        if not data:
            raise Terminate()
        self.stdin_buffer += data
        while b"\n" in self.stdin_buffer:
            line, self.stdin_buffer = self.stdin_buffer.split(b"\n", 1)
            if not line.strip():
                continue
            self.seq += 1
            try:
                command = json.loads(line)
                self.apply(command)
            except Terminate:
                emit("done", seq=self.seq, cmd=command)
                raise
            except (ValueError, TypeError, AttributeError) as error:
                emit("error", seq=self.seq, message=str(error), line=line.decode(errors="replace"))
                emit("done", seq=self.seq, cmd=None)
                continue
            emit("done", seq=self.seq, cmd=command, fields=self.fields)

    # --- main loop --------------------------------------------------------------------------

    def update_host(self):
        if self.vanished:
            return
        open_now = self.pty.check_host()
        if open_now != self.pty.host_open:
            self.pty.host_open = open_now
            emit("host_open" if open_now else "host_closed", device=self.pty.device)

    def run(self):
        stdin = sys.stdin.fileno()
        while True:
            self.update_host()
            now = time.monotonic()
            if now >= self.next_stat:
                self.send_stat()
                self.next_stat = max(self.next_stat + self.period, now)
            timeout = max(0.0, self.next_stat - time.monotonic())
            readers = [stdin]
            if not self.vanished and self.pty.host_open:
                readers.append(self.pty.master)
            else:
                timeout = min(timeout, POLL_TICK)
            ready, _, _ = select.select(readers, [], [], timeout)
            if stdin in ready:
                self.on_stdin(os.read(stdin, 65536))
            if not self.vanished and self.pty.master in ready:
                try:
                    data = os.read(self.pty.master, 4096)
                except BlockingIOError:
                    data = None
                except OSError:
                    data = b""  # EIO: the host closed the port
                if data:
                    self.on_host_bytes(data)
                elif data == b"":
                    # Nobody has the slave open any more.
                    self.pty.host_open = False
                    emit("host_closed", device=self.pty.device)

    def close(self):
        remove_link(self.link)
        self.pty.close()


def hold(device):
    fd = os.open(device, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    fcntl.ioctl(fd, termios.TIOCEXCL)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        locked = True
    except OSError:
        locked = False
    emit("holding", device=device, resolved=os.path.realpath(device), flock=locked)
    try:
        while True:
            ready, _, _ = select.select([sys.stdin.fileno()], [], [])
            if ready and not os.read(sys.stdin.fileno(), 4096):
                return
    finally:
        os.close(fd)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--link", help="symlink to create for the slave (the by-id name)")
    parser.add_argument("--period", type=float, default=7.5, help="seconds between STATs")
    parser.add_argument("--silent", action="store_true", help="start silent (see 'speak')")
    parser.add_argument("--seed", type=int, help="seed of the random noise")
    parser.add_argument("--hold", metavar="DEVICE", help="hold DEVICE exclusively instead")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    if args.hold:
        try:
            hold(args.hold)
        except Terminate:
            pass
        return
    if not args.link:
        parser.error("--link is required")
    if args.period <= 0:
        parser.error("--period must be positive")
    if args.seed is not None:
        random.seed(args.seed)
    firmware = Firmware(args)
    try:
        firmware.run()
    except Terminate:
        pass
    finally:
        firmware.close()


if __name__ == "__main__":
    main()
