"""An I/O module's communication watchdog, as a register map file describes it.

Modbus I/O modules driving outputs from a host (Advantech ADAM, Moxa ioLogik, WAGO
750-3xx, Acromag and the like) have a host communication watchdog: when no request has
come for its timeout, the module sets its outputs to configured fail-safe values on its
own. For a direct-mode kiln that is what drops the SSR duty when kilnctl dies (kill -9,
power, a crash); kilnctl sets the timeout and the fail-safe value at the start of every
direct firing and reads both back.

The map file names the registers (declared under [registers], writable) and the values:

```toml
[watchdog]
timeout = "watchdog_timeout"   # register holding the timeout, seconds after its scale
timeout_s = 5.0                # set at start: several control periods
fail_safe = "fail_safe_duty"   # register holding the output value taken on expiry
fail_safe_value = 0.0          # the SSR duty on expiry, %: heat off
```
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from drivers.errors import ConfigError
from drivers.register_map import RegisterMap

_KEYS = ("timeout", "timeout_s", "fail_safe", "fail_safe_value")


@dataclass(frozen=True)
class WatchdogSpec:
    """Which registers arm the watchdog, and with what."""

    timeout_register: str
    timeout_s: float
    fail_safe_register: str
    fail_safe_value: float


def watchdog_spec(register_map: RegisterMap) -> WatchdogSpec | None:
    """The map's [watchdog] table, checked against its registers; None when there is none.
    ConfigError names the file, the field and what is allowed."""
    table: Any = register_map.tables.get("watchdog")
    if table is None:
        return None
    where = f"register map {register_map.source}: watchdog"
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: must be a table with keys {', '.join(_KEYS)}")
    unknown = set(table) - set(_KEYS)
    missing = [k for k in _KEYS if k not in table]
    if unknown or missing:
        problem = (
            f"unknown key(s) {', '.join(sorted(unknown))}"
            if unknown
            else f"missing {', '.join(missing)}"
        )
        raise ConfigError(f"{where}: {problem} (keys: {', '.join(_KEYS)})")
    spec = WatchdogSpec(
        _register(register_map, where, "timeout", table["timeout"]),
        _value(register_map, where, "timeout_s", table["timeout_s"], table["timeout"]),
        _register(register_map, where, "fail_safe", table["fail_safe"]),
        _value(
            register_map, where, "fail_safe_value", table["fail_safe_value"], table["fail_safe"]
        ),
    )
    if spec.timeout_s <= 0:
        raise ConfigError(f"{where}: timeout_s must be > 0 (0 turns the watchdog off)")
    return spec


def _register(register_map: RegisterMap, where: str, key: str, name: Any) -> str:
    writable = [n for n, e in register_map.entries.items() if e.writable]
    if not isinstance(name, str) or name not in writable:
        raise ConfigError(
            f"{where}: {key} = {name!r} is not a writable register of the map "
            f"(writable: {', '.join(writable) or 'none'})"
        )
    return name


def _value(register_map: RegisterMap, where: str, key: str, value: Any, register: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{where}: {key} must be a number, got {value!r}")
    entry = register_map.entries[register]
    low = -float("inf") if entry.minimum is None else entry.minimum
    high = float("inf") if entry.maximum is None else entry.maximum
    if not low <= value <= high:
        raise ConfigError(
            f"{where}: {key} = {value:g} is outside register {register}'s "
            f"{entry.minimum}..{entry.maximum}"
        )
    return float(value)
