"""Device addresses as URLs: which wire, which line settings, which unit.

Accepted forms (the scheme says how to talk, the rest says where):

- ``modbus-tcp://HOST:PORT?unit=N`` — Modbus TCP (MBAP); PORT defaults to 502.
- ``modbus-rtu:///dev/ttyX?baud=9600&parity=N&stopbits=1&unit=N`` — Modbus RTU on a
  local serial port (note the three slashes: empty host, absolute device path).
- ``modbus-rtu:socket://HOST:PORT?...`` / ``modbus-rtu:rfc2217://HOST:PORT?...`` /
  ``modbus-rtu:loop://`` — Modbus RTU through a pyserial URL handler (a serial server or
  RS-485 gateway that passes bytes through). Everything after ``modbus-rtu:`` up to ``?`` is
  handed to pyserial unchanged.
- ``serial:///dev/ttyX?baud=9600`` and ``serial:socket://HOST:PORT?...`` — plain ASCII
  serial (Korad bench supplies).

Query keys: ``unit`` (default 1; modbus-rtu 1-247, modbus-tcp 0-247), ``baud`` (default
9600), ``parity`` (N/E/O), ``stopbits`` (1/2), ``bytesize`` (7/8), ``timeout`` (seconds per
try), ``retries`` (extra tries after the first), ``gap_ms`` (quiet time between a reply and
the next request on the line).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

from drivers.errors import ConfigError

SCHEMES = ("modbus-tcp", "modbus-rtu", "serial")
PYSERIAL_URL_SCHEMES = ("socket", "rfc2217", "loop")
_SERIAL_KEYS = {"baud", "parity", "stopbits", "bytesize"}
_COMMON_KEYS = {"timeout", "retries", "gap_ms"}
_ALLOWED_KEYS = {
    "modbus-tcp": {"unit"} | _COMMON_KEYS,
    "modbus-rtu": {"unit"} | _SERIAL_KEYS | _COMMON_KEYS,
    "serial": _SERIAL_KEYS | _COMMON_KEYS,
}
_HELP = (
    "use modbus-tcp://HOST:PORT?unit=N, modbus-rtu:///dev/ttyX?baud=9600&unit=N, "
    "modbus-rtu:socket://HOST:PORT?unit=N, or serial:///dev/ttyX?baud=9600"
)


@dataclass(frozen=True)
class DeviceAddress:
    """A parsed device URL. `line` identifies the shared wire (one bus object per line)."""

    url: str
    scheme: str
    host: str = ""
    """TCP host (modbus-tcp only)."""
    port: int = 0
    """TCP port (modbus-tcp only)."""
    device: str = ""
    """Serial device path or pyserial URL (modbus-rtu and serial)."""
    unit: int = 1
    baud: int = 9600
    parity: str = "N"
    stopbits: int = 1
    bytesize: int = 8
    timeout_s: float | None = None
    """Per-try reply timeout; None means the transport's default."""
    retries: int | None = None
    gap_s: float | None = None
    given: frozenset[str] = field(default=frozenset(), compare=False)
    """The query keys the URL spelt out (the rest are defaults a driver may replace with
    its device's own, e.g. the parity)."""

    @property
    def line(self) -> str:
        """Key of the physical line: devices with the same key share one bus object."""
        if self.scheme == "modbus-tcp":
            return f"modbus-tcp://{self.host}:{self.port}"
        return f"{self.scheme}:{self.device}"

    @property
    def is_modbus(self) -> bool:
        """True for modbus-tcp and modbus-rtu addresses (False for ASCII serial)."""
        return self.scheme != "serial"

    def __str__(self) -> str:
        if self.scheme == "serial":
            return self.line
        return f"{self.line} unit {self.unit}"


def _int(key: str, text: str, low: int, high: int, url: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise ConfigError(f"device URL {url!r}: {key}={text!r} is not an integer") from None
    if not low <= value <= high:
        raise ConfigError(f"device URL {url!r}: {key}={value} is out of range {low}..{high}")
    return value


RTU_BROADCAST = 0


def _unit(scheme: str, text: str, url: str) -> int:
    """The unit id. On a serial line unit 0 is the broadcast address (Modbus over Serial
    Line V1.02 §2.2): every slave executes the write and none answers, so one device must
    never be addressed as 0 — a "device" at unit 0 would change every unit on the line."""
    unit = _int("unit", text, 0, 247, url)
    if scheme == "modbus-rtu" and unit == RTU_BROADCAST:
        raise ConfigError(
            f"device URL {url!r}: unit=0 is the broadcast address on a serial line (every "
            "unit on the line would act on its writes, none answers); use the device's own "
            "address, 1..247"
        )
    return unit


def _float(key: str, text: str, url: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(f"device URL {url!r}: {key}={text!r} is not a number") from None
    if not 0 <= value < math.inf:
        raise ConfigError(f"device URL {url!r}: {key} must be a finite number >= 0, got {text}")
    return value


def _split_device(url: str, scheme: str, rest: str) -> str:
    """The serial part of a modbus-rtu:/serial: URL: a device path or a pyserial URL."""
    if rest.startswith("///") and len(rest) > 3:
        return rest[2:]
    for handler in PYSERIAL_URL_SCHEMES:
        if rest.startswith(f"{handler}://"):
            return rest
    raise ConfigError(
        f"device URL {url!r}: after '{scheme}:' expected ///dev/PATH or a pyserial URL "
        f"({', '.join(h + '://' for h in PYSERIAL_URL_SCHEMES)}); {_HELP}"
    )


def parse_address(url: str) -> DeviceAddress:
    """Parse a device URL; raise ConfigError saying what is allowed when it is wrong."""
    scheme, sep, rest = url.partition(":")
    if not sep or scheme not in SCHEMES:
        raise ConfigError(
            f"device URL {url!r}: unknown scheme {scheme!r} (allowed: {', '.join(SCHEMES)}); "
            f"{_HELP}"
        )
    target, _, query_text = rest.partition("?")
    try:
        pairs = parse_qsl(query_text, keep_blank_values=True, strict_parsing=bool(query_text))
    except ValueError:
        raise ConfigError(f"device URL {url!r}: malformed query {query_text!r}") from None
    query = dict(pairs)
    if len(query) != len(pairs):
        raise ConfigError(f"device URL {url!r}: an option is given twice")
    unknown = set(query) - _ALLOWED_KEYS[scheme]
    if unknown:
        raise ConfigError(
            f"device URL {url!r}: unknown option(s) {', '.join(sorted(unknown))} for {scheme} "
            f"(allowed: {', '.join(sorted(_ALLOWED_KEYS[scheme]))})"
        )
    fields: dict[str, object] = {}
    if scheme == "modbus-tcp":
        try:
            parts = urlsplit(target)
            port = parts.port
        except ValueError:
            raise ConfigError(f"device URL {url!r}: bad host or TCP port; {_HELP}") from None
        if (
            not target.startswith("//")
            or not parts.hostname
            or parts.username is not None
            or parts.path not in ("", "/")
        ):
            raise ConfigError(f"device URL {url!r}: expected modbus-tcp://HOST:PORT?unit=N")
        fields.update(host=parts.hostname, port=port if port is not None else 502)
    else:
        fields["device"] = _split_device(url, scheme, target)
    if "unit" in query:
        fields["unit"] = _unit(scheme, query["unit"], url)
    if "baud" in query:
        fields["baud"] = _int("baud", query["baud"], 50, 4_000_000, url)
    if "parity" in query:
        parity = query["parity"].upper()
        if parity not in ("N", "E", "O"):
            raise ConfigError(f"device URL {url!r}: parity must be N, E or O, got {parity!r}")
        fields["parity"] = parity
    if "stopbits" in query:
        fields["stopbits"] = _int("stopbits", query["stopbits"], 1, 2, url)
    if "bytesize" in query:
        fields["bytesize"] = _int("bytesize", query["bytesize"], 7, 8, url)
    if "timeout" in query:
        fields["timeout_s"] = _float("timeout", query["timeout"], url)
    if "retries" in query:
        fields["retries"] = _int("retries", query["retries"], 0, 10, url)
    if "gap_ms" in query:
        fields["gap_s"] = _float("gap_ms", query["gap_ms"], url) / 1000.0
    fields["given"] = frozenset(query)
    return DeviceAddress(url=url, scheme=scheme, **fields)  # type: ignore[arg-type]
