"""Korad KA3005P bench supply (and rebadges): unterminated ASCII commands on a serial line,
driving a PlatingCell.

Commands (docs/devices.md, Korad KA3005P): `VSET1:12.50` / `VSET1?`, `ISET1:1.250` /
`ISET1?`, `VOUT1?`,
`IOUT1?`, `OUT1` / `OUT0`, `STATUS?`, `*IDN?`, `OCP1` / `OCP0`, `OVP1` / `OVP0`. Replies carry
no terminator and use the unit's fixed formats: volts "12.50" (zero-padded, "05.00"),
amps "1.250"; `STATUS?` answers one byte: bit0 CC (0) / CV (1), bit6 output on.
Unknown commands, and sets outside 0..31 V / 0..5.1 A (ignored, setpoint unchanged), get
silence, as on the real unit, which acknowledges nothing: query after set. With
`iset_extra_byte` (the default) the reply to `ISET1?` is followed by a stray sixth byte,
as on units that sigrok (korad-kaxxxxp protocol.c, "Read the sixth byte from ISET? BUG
workaround") and py-korad-serial (koradserial.py, "a 6th character of previous output")
work around.
Protections (the KA3005P has no separate protection levels: its setpoints are the
levels): with OCP1, reaching the current setpoint (CC, current flowing) switches the output
off; with OVP1, reaching the voltage setpoint (CV, e.g. an open rack contact or a rising
bath resistance) switches it off. Either stays off until the next OUT1 (STATUS? bit6 0);
OCP0 / OVP0 disarm them.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable
from typing import Any

from simulators.device import WireFaults
from simulators.physics.faults import FaultAccess
from simulators.physics.plating import PlatingCell, PlatingParams

IDN = b"KORAD KA3005P V5.5 SN:00000001"
MAX_VOLTS = 31.0
MAX_AMPS = 5.1

STATUS_CV = 1 << 0
STATUS_OUTPUT = 1 << 6

QUERIES = (b"*IDN?", b"VSET1?", b"ISET1?", b"VOUT1?", b"IOUT1?", b"STATUS?")
SWITCHES = (b"OUT1", b"OUT0", b"OCP1", b"OCP0", b"OVP1", b"OVP0")
SETTERS = {b"VSET1:": 2, b"ISET1:": 3}
"""Set commands and the decimals their value is sent with (the value ends there)."""
_FIXED = QUERIES + SWITCHES
_ALL_PREFIXES = _FIXED + tuple(SETTERS)
_NUMBER = re.compile(rb"[0-9]*(?:\.[0-9]*)?")


def split(buffer: bytes, *, flush: bool = False) -> tuple[list[bytes], bytes]:
    """Frame a stream of unterminated commands: (complete commands, bytes still pending).

    A set command is complete once its value has the usual decimals ("VSET1:12.50",
    "ISET1:1.250") or another byte follows it; a value still growing at the end of the
    buffer stays pending (the server hands it over after an idle gap, or pass flush=True).
    Bytes that cannot start any command are dropped, as the real unit ignores them.
    """
    commands: list[bytes] = []
    i = 0
    n = len(buffer)
    while i < n:
        rest = buffer[i:]
        fixed = next((c for c in _FIXED if rest.startswith(c)), None)
        if fixed is not None:
            commands.append(fixed)
            i += len(fixed)
            continue
        setter = next((s for s in SETTERS if rest.startswith(s)), None)
        if setter is not None:
            start = len(setter)
            match = _NUMBER.match(rest, start)
            end = match.end() if match else start
            value = rest[start:end]
            dot = value.find(b".")
            decimals = SETTERS[setter]
            if dot >= 0 and len(value) - dot - 1 >= decimals:
                end = start + dot + 1 + decimals
            elif end == len(rest) and not flush:
                break  # the value may still be arriving
            commands.append(rest[:end])
            i += end
            continue
        if any(p.startswith(rest) for p in _ALL_PREFIXES):
            if flush:
                i = n  # an unfinished command after the idle gap: the unit ignores it
            break
        i += 1
    return commands, buffer[i:]


class KoradKA3005P(FaultAccess):
    """A simulated KA3005P; `handle` answers one complete command. Faults: open_circuit,
    over_temperature (output trips off)."""

    def __init__(
        self,
        time_fn: Callable[[], float],
        seed: int = 0,
        params: PlatingParams | None = None,
        iset_extra_byte: bool = True,
        **cell_params: Any,
    ) -> None:
        # A small gold-flash rack: higher resistance than an industrial tank.
        params = params or PlatingParams(
            bath_resistance_ohm=0.5, max_current_a=MAX_AMPS, max_voltage_v=MAX_VOLTS
        )
        if cell_params:
            params = dataclasses.replace(params, **cell_params)
        self.cell = PlatingCell(params, time_fn, seed)
        super().__init__(self.cell)
        self.wire = WireFaults()
        self.ocp = False
        self.ovp = False
        self.iset_extra_byte = iset_extra_byte
        self._last_reply = b"0"

    # -- protocol -------------------------------------------------------------------------

    def split(self, buffer: bytes) -> tuple[list[bytes], bytes]:
        """Frame the byte stream (see module-level `split`)."""
        return split(buffer)

    def trailer(self, command: bytes) -> bytes:
        """Bytes the unit sends after the reply to `command`: a character of its previous
        output after ISET1? (when `iset_extra_byte`)."""
        return self._last_reply[-1:] if self.iset_extra_byte and command == b"ISET1?" else b""

    def handle(self, command: bytes) -> bytes | None:
        """The reply to one complete command (None: the unit stays silent)."""
        cell = self.cell
        cell.sync()
        reply: bytes | None = None
        if command == b"*IDN?":
            reply = IDN
        elif command == b"VSET1?":
            reply = _volts(cell.voltage_limit_v)
        elif command == b"ISET1?":
            reply = _amps(cell.current_setpoint_a)
        elif command == b"VOUT1?":
            reply = _volts(cell.read().volts)
        elif command == b"IOUT1?":
            reply = _amps(cell.read().amps)
        elif command == b"STATUS?":
            reply = bytes([self.status_byte()])
        elif command in SWITCHES:
            self._switch(command)
        else:
            self._set(command)
        # The levels follow the setpoints, which only these commands change.
        cell.set_protection(
            cell.voltage_limit_v if self.ovp else math.inf,
            cell.current_setpoint_a if self.ocp else math.inf,
        )
        if reply and command != b"ISET1?":
            self._last_reply = reply
        return reply

    def status_byte(self) -> int:
        """STATUS? byte: bit0 CC(0)/CV(1), bit6 output on."""
        byte = STATUS_CV if self.cell.operating_point().mode == "CV" else 0
        if self.cell.output_on:
            byte |= STATUS_OUTPUT
        return byte

    def _switch(self, command: bytes) -> None:
        on = command.endswith(b"1")
        if command.startswith(b"OUT"):
            if on:
                self.cell.enable()
            else:
                self.cell.disable()
        elif command.startswith(b"OCP"):
            self.ocp = on
        else:
            self.ovp = on

    def _set(self, command: bytes) -> None:
        for prefix, limit, setter in (
            (b"VSET1:", MAX_VOLTS, self.cell.set_voltage_limit),
            (b"ISET1:", MAX_AMPS, self.cell.set_current),
        ):
            if command.startswith(prefix):
                try:
                    value = float(command[len(prefix) :])
                except ValueError:
                    return
                if 0.0 <= value <= limit:
                    try:
                        setter(value)
                    except ValueError:  # beyond a lower rating given in the cell params
                        return
                return


def _volts(value: float) -> bytes:
    return f"{value:05.2f}".encode()


def _amps(value: float) -> bytes:
    return f"{value:.3f}".encode()
