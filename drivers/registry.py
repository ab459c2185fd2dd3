"""Driver registry: the plant config's driver name -> factory, and `probe` to identify
what answers at a URL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from drivers.address import DeviceAddress, parse_address
from drivers.contactor import ModbusContactor
from drivers.direct_kiln import DirectKiln
from drivers.errors import ConfigError, DeviceError, ModbusExceptionError
from drivers.eurotherm3216 import STATUS as EUROTHERM_STATUS
from drivers.eurotherm3216 import Eurotherm3216
from drivers.generic import GenericRectifier
from drivers.korad import KoradKA3005P
from drivers.omron_e5cc import PV as OMRON_PV
from drivers.omron_e5cc import OmronE5cc
from drivers.omron_e5cc import serial_settings as omron_serial_settings
from drivers.protocols import Rectifier, TemperatureController
from drivers.riden import MODEL_REGISTER, Riden, model_for_id
from drivers.transport.ascii_serial import AsciiSerialPort
from drivers.transport.bus_registry import DEFAULT_BUSES, BusRegistry
from drivers.transport.modbus_bus import ModbusLink

Device = TemperatureController | Rectifier
Factory = Callable[[str, DeviceAddress, dict[str, Any], BusRegistry], Device]


def _check_options(name: str, given: dict[str, Any], allowed: tuple[str, ...]) -> None:
    unknown = set(given) - set(allowed)
    if unknown:
        raise ConfigError(
            f"{name}: unknown option(s) {', '.join(sorted(unknown))} "
            f"(allowed: {', '.join(allowed) or 'none'})"
        )


SerialSettings = Callable[[DeviceAddress, str], DeviceAddress]


def _modbus(
    cls: Callable[..., Device],
    options: tuple[str, ...],
    serial: SerialSettings | None = None,
    learned: dict[str, str] | None = None,
) -> Factory:
    """A Modbus driver's factory. `serial`: the device's own line settings (defaults and
    checks); `learned`: options the driver reads from the device instead, with the reason
    a config giving one is told."""

    def make(name: str, address: DeviceAddress, opts: dict[str, Any], buses: BusRegistry) -> Device:
        for option, why in (learned or {}).items():
            if option in opts:
                raise ConfigError(f"{name}: remove option {option!r}: {why}")
        _check_options(name, opts, options)
        if not address.is_modbus:
            raise ConfigError(f"{name}: this driver needs a modbus-tcp: or modbus-rtu: URL")
        if serial is not None:
            address = serial(address, name)
        link = buses.open_link(address, name)
        try:
            return cls(name, link, **opts)
        except (ConfigError, TypeError, ValueError):
            link.close()
            raise

    return make


def _korad(name: str, address: DeviceAddress, opts: dict[str, Any], _: BusRegistry) -> Device:
    _check_options(name, opts, ("settle_s",))
    if address.scheme != "serial":
        raise ConfigError(f"{name}: korad_ka3005p needs a serial: URL, got {address.url!r}")
    return KoradKA3005P(name, AsciiSerialPort(address, name), **opts)


DRIVERS: dict[str, Factory] = {
    "eurotherm3216": _modbus(Eurotherm3216, ("decimals", "lr_check_s")),
    "omron_e5cc": _modbus(
        OmronE5cc,
        (),
        omron_serial_settings,
        {"decimals": "the E5CC's resolution is read from the controller (decimal point monitor)"},
    ),
    "riden": _modbus(Riden, ("model_id",)),
    "korad_ka3005p": _korad,
    "generic_rectifier": _modbus(GenericRectifier, ("map_path",)),
    "direct_kiln": _modbus(DirectKiln, ("map_path",)),
    "contactor": _modbus(ModbusContactor, ("register",)),  # type: ignore[arg-type]
}


def open_device(
    name: str, driver: str, url: str, *, buses: BusRegistry = DEFAULT_BUSES, **options: Any
) -> TemperatureController | Rectifier:
    """Build the driver `driver` for device `name` at `url`. Modbus devices on the same
    line share one bus. Nothing is sent until the first request."""
    factory = DRIVERS.get(driver)
    if factory is None:
        raise ConfigError(
            f"{name}: unknown driver {driver!r} (known: {', '.join(sorted(DRIVERS))})"
        )
    return factory(name, parse_address(url), dict(options), buses)


async def _probe_modbus(link: ModbusLink) -> str:
    # Distinguishing reads, most specific first: only a Riden has a model id it recognises
    # at register 0; an Omron answers 0x2000; a Eurotherm answers StAt (75) and the float
    # region. Exception replies mean "not this one"; silence is reported as such.
    try:
        model = model_for_id(int(MODEL_REGISTER.decode(await link.read_holding(0, 1))))
        return f"riden ({model.name})"
    except (ModbusExceptionError, ConfigError):
        pass
    try:
        await link.read_holding(OMRON_PV, 5)
        return "omron_e5cc"
    except ModbusExceptionError:
        pass
    try:
        await link.read_holding(EUROTHERM_STATUS.address, 1)
        await link.read_holding(0x8002, 2)
        return "eurotherm3216"
    except ModbusExceptionError:
        pass
    return "unknown Modbus device (answers, but matches no known register map)"


async def probe(url: str, *, buses: BusRegistry = DEFAULT_BUSES) -> str:
    """Identify what answers at `url`: a driver name plus what was read. Raises the
    transport's DeviceError when nothing answers."""
    address = parse_address(url)
    if address.scheme == "serial":
        port = AsciiSerialPort(address, "probe")
        try:
            idn = await KoradKA3005P("probe", port).identify()
        finally:
            port.close()
        if "KA3005" in idn.upper() or "KORAD" in idn.upper():
            return f"korad_ka3005p ({idn})"
        return f"unknown serial device ({idn!r})"
    link = buses.open_link(address, "probe")
    try:
        return await _probe_modbus(link)
    finally:
        link.close()


__all__ = ["DRIVERS", "DeviceError", "open_device", "probe"]
