"""Typed device errors. Each carries the device name and address so a user can act on it;
no raw library traceback reaches a user."""

from __future__ import annotations


class DeviceError(Exception):
    """Base of every error a driver or transport raises."""

    kind = "device error"

    def __init__(self, device: str, address: str, detail: str) -> None:
        self.device = device
        self.address = address
        self.detail = detail
        super().__init__(f"{device} ({address}): {self.kind}: {detail}")


class DeviceTimeout(DeviceError):
    kind = "no response"


class FrameError(DeviceError):
    """CRC, framing or garbled reply."""

    kind = "bad frame"


class ModbusExceptionError(DeviceError):
    kind = "Modbus exception"

    def __init__(self, device: str, address: str, code: int, detail: str = "") -> None:
        self.code = code
        names = {
            1: "illegal function",
            2: "illegal data address",
            3: "illegal data value",
            4: "device failure",
            5: "acknowledge (busy processing)",
            6: "device busy",
            10: "gateway path unavailable",
            11: "gateway target failed to respond",
        }
        text = f"code {code} ({names.get(code, 'unknown')})"
        super().__init__(device, address, f"{text}{': ' + detail if detail else ''}")


class Disconnected(DeviceError):
    kind = "disconnected"


class WriteNotConfirmed(DeviceError):
    """A control write whose echo or read-back did not match what was written."""

    kind = "write not confirmed"


class ConfigError(Exception):
    """Bad device URL, unknown driver name, bad register map."""
