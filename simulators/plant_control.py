"""Fault control of a running simulated plant: a line-oriented TCP protocol and its client.

One command per line, one reply line: "ok[ DATA]" or "error: WHAT".

    fault NAME FAULT          inject a device fault (tc_open, element_failure, ...)
    clear NAME [FAULT]        clear one device fault, or all device and wire faults
    wire NAME MODE [SECONDS]  no_response | crc | garbage | slow SECONDS (every reply) |
                              late SECONDS (the next reply only, once) | ok (clears wire
                              faults); modes add up until "ok"
    door NAME open|closed     open or shut a kiln's door (heat loss)
    list                      "ok " + JSON {name: {kind, protocol, url, faults, wire}}
    help                      the command summary

Try it by hand: `nc 127.0.0.1 PORT`, then type `list`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from simulators.device import WireFaults

HELP = (
    "fault NAME FAULT | clear NAME [FAULT] | wire NAME no_response|crc|garbage|slow S|late S|ok"
    " | door NAME open|closed | list"
)
MAX_LINE = 1024


class ControlError(Exception):
    """The plant refused a command, or cannot be reached; the message says why."""


@dataclass
class SimulatedDevice:
    """A running simulated device as the control port sees it."""

    name: str
    kind: str
    protocol: str
    url: str
    model: object
    """The device model: a ModbusSlave or the Korad, with inject/clear/faults."""
    wire: WireFaults


def wire_state(wire: WireFaults) -> list[str]:
    """Active wire faults in the control protocol's words."""
    active = [name for name, on in (
        ("no_response", wire.no_response), ("crc", wire.corrupt_crc), ("garbage", wire.garbage),
    ) if on]  # fmt: skip
    if wire.extra_delay_s > 0:
        active.append(f"slow {wire.extra_delay_s:g}")
    if wire.late_once_s > 0:
        active.append(f"late {wire.late_once_s:g}")
    return active


def _device_method(device: SimulatedDevice, method: str) -> Callable[..., object]:
    found = getattr(device.model, method, None)
    if not callable(found):
        raise ControlError(f"{device.name} ({device.kind}) does not support '{method}'")
    return found


def _fault(device: SimulatedDevice, args: list[str]) -> str:
    if len(args) != 1:
        raise ControlError("usage: fault NAME FAULT")
    _device_method(device, "inject")(args[0])
    return "ok"


def _clear(device: SimulatedDevice, args: list[str]) -> str:
    if len(args) > 1:
        raise ControlError("usage: clear NAME [FAULT]")
    if args:
        _device_method(device, "clear")(args[0])
    else:  # everything: device faults, wire faults, and an open door
        if callable(getattr(device.model, "clear", None)):
            _device_method(device, "clear")(None)
        if callable(getattr(device.model, "set_door", None)):
            _device_method(device, "set_door")(False)
        device.wire.clear()
    return "ok"


def _wire(device: SimulatedDevice, args: list[str]) -> str:
    wire = device.wire
    mode = args[0] if args else ""
    if mode in ("slow", "late") and len(args) == 2:
        try:
            delay_s = float(args[1])
        except ValueError:
            raise ControlError(f"{mode} needs seconds, got {args[1]!r}") from None
        if not 0 <= delay_s <= 60:
            raise ControlError(f"{mode} takes 0..60 seconds, got {delay_s:g}")
        if mode == "slow":
            wire.extra_delay_s = delay_s
        else:
            wire.late_once_s = delay_s
    elif mode == "no_response" and len(args) == 1:
        wire.no_response = True
    elif mode == "crc" and len(args) == 1:
        wire.corrupt_crc = True
    elif mode == "garbage" and len(args) == 1:
        wire.garbage = True
    elif mode == "ok" and len(args) == 1:
        wire.clear()
    else:
        raise ControlError(
            "usage: wire NAME no_response|crc|garbage|slow SECONDS|late SECONDS|ok"
        )
    return "ok"


def _door(device: SimulatedDevice, args: list[str]) -> str:
    if args not in (["open"], ["closed"]):
        raise ControlError("usage: door NAME open|closed")
    _device_method(device, "set_door")(args[0] == "open")
    return "ok"


_DEVICE_COMMANDS: dict[str, Callable[[SimulatedDevice, list[str]], str]] = {
    "fault": _fault, "clear": _clear, "wire": _wire, "door": _door,
}  # fmt: skip


def _open_door(model: object) -> list[str]:
    """["door_open"] while a kiln's door is open (on the device or its kiln model)."""
    kiln = getattr(model, "kiln", model)
    return ["door_open"] if getattr(kiln, "door_open", False) is True else []


def describe(devices: Mapping[str, SimulatedDevice]) -> dict[str, dict[str, object]]:
    """Each device's kind, protocol, URL and active faults (the `list` reply)."""
    return {
        name: {
            "kind": dev.kind,
            "protocol": dev.protocol,
            "url": dev.url,
            # an open door is shown with the faults: `sim-fault NAME door_open` opened it
            "faults": sorted(getattr(dev.model, "faults", ())) + _open_door(dev.model),
            "wire": wire_state(dev.wire),
        }
        for name, dev in devices.items()
    }


def execute(devices: Mapping[str, SimulatedDevice], line: str) -> str:
    """Run one control command against the plant's devices; the reply line."""
    words = line.split()
    if not words:
        return "error: empty command; " + HELP
    command, args = words[0].lower(), words[1:]
    if command == "list":
        return "ok " + json.dumps(describe(devices), separators=(",", ":"))
    if command == "help":
        return "ok " + HELP
    handler = _DEVICE_COMMANDS.get(command)
    if handler is None:
        return f"error: unknown command {command!r}; " + HELP
    if not args:
        return f"error: {command} needs a device name; " + HELP
    device = devices.get(args[0])
    if device is None:
        return f"error: no device {args[0]!r}; devices: {', '.join(sorted(devices))}"
    try:
        return handler(device, args[1:])
    except (ControlError, ValueError, KeyError) as exc:
        # ValueError/KeyError: the device model refusing a fault name it does not know
        return f"error: {exc}"


class ControlServer:
    """Serves `execute` for `devices` on a local TCP port (0 picks a free one)."""

    def __init__(
        self, devices: Mapping[str, SimulatedDevice], host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.devices = devices
        self.host = host
        self._requested_port = port
        self._server: asyncio.Server | None = None
        self._sessions: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        """Bind and start accepting connections."""
        self._server = await asyncio.start_server(
            self._serve, self.host, self._requested_port, limit=MAX_LINE
        )

    @property
    def port(self) -> int:
        """The bound port."""
        if self._server is None:
            raise RuntimeError("control server not started")
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def address(self) -> str:
        """Where clients connect, as "tcp://host:port"."""
        return f"tcp://{self.host}:{self.port}"

    async def close(self) -> None:
        """Stop listening and end open sessions."""
        if self._server is not None:
            self._server.close()
            for writer in list(self._sessions):
                writer.close()
            await self._server.wait_closed()
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._sessions.add(writer)
        try:
            while line := await reader.readline():
                text = line.decode("utf-8", errors="replace").strip()
                if text:
                    writer.write((execute(self.devices, text) + "\n").encode())
                    await writer.drain()
        except (ValueError, ConnectionError):
            pass  # an over-long line or a client gone: drop the session
        except asyncio.CancelledError:
            pass  # loop shutting down; ending normally keeps 3.11's stream callback quiet
        finally:
            self._sessions.discard(writer)
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()


def parse_address(address: str) -> tuple[str, int]:
    """"tcp://host:port" or "host:port" -> (host, port)."""
    hostport = address.removeprefix("tcp://")
    host, sep, port = hostport.rpartition(":")
    if not sep or not port.isdigit():
        raise ControlError(f"control address must be host:port, got {address!r}")
    return host or "127.0.0.1", int(port)


def control(address: str, command: str, timeout_s: float = 5.0) -> str:
    """Send one command to a running plant; its reply data ("" for a plain "ok").

    Raises ControlError when the plant refuses the command or cannot be reached.
    """
    host, port = parse_address(address)
    try:
        with socket.create_connection((host, port), timeout=timeout_s) as sock:
            sock.sendall(command.strip().encode() + b"\n")
            reply = b""
            while not reply.endswith(b"\n"):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                reply += chunk
    except OSError as exc:
        raise ControlError(f"no simulated plant answers at {address}: {exc}") from exc
    text = reply.decode("utf-8", errors="replace").strip()
    if text == "ok":
        return ""
    if text.startswith("ok "):
        return text[3:]
    raise ControlError(text.removeprefix("error: ") or "the plant closed the connection")
