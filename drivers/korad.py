"""Korad KA3005P (and rebadges) bench supply: plain ASCII, no terminators, 9600 8N1.

The supply never acknowledges a set command, so every set is followed by the matching
query, and a mismatch is a WriteNotConfirmed. Commands are paced by the port (80 ms after
each exchange, which also covers the ~50 ms a set needs). Replies have fixed formats
(sigrok korad-kaxxxxp protocol.c, py-korad-serial koradserial.py): volts "12.50", amps
"1.250", STATUS? one byte (bit0 CV, bit6 output on; bits 2-3 the tracking mode of
two-channel models, 0 on this single-channel unit). A reply that is not in its query's
format — a volts reply where amps were asked, a stray byte where the status byte was
expected — is a FrameError, never a value.
"""

from __future__ import annotations

import re

from drivers.errors import FrameError, WriteNotConfirmed
from drivers.protocols import RectifierReading, RegulationMode
from drivers.safe_state import RectifierSafeState
from drivers.transport.ascii_serial import AsciiSerialPort

# Commands and the length of their unterminated replies.
VSET = "VSET1:{:05.2f}"
ISET = "ISET1:{:05.3f}"
VSET_Q, VSET_Q_LEN = "VSET1?", 5  # "12.50"
ISET_Q, ISET_Q_LEN = "ISET1?", 5  # "1.250" (some units add a stray sixth byte: drained)
VOUT_Q, VOUT_Q_LEN = "VOUT1?", 5
IOUT_Q, IOUT_Q_LEN = "IOUT1?", 5
STATUS_Q, STATUS_Q_LEN = "STATUS?", 1  # one raw status byte
VOLTS_FORMAT = re.compile(r"\d\d\.\d\d")
AMPS_FORMAT = re.compile(r"\d\.\d\d\d")
FORMATS = {VSET_Q: VOLTS_FORMAT, VOUT_Q: VOLTS_FORMAT, ISET_Q: AMPS_FORMAT, IOUT_Q: AMPS_FORMAT}
IDN_Q = "*IDN?"  # variable length: framed by the idle gap
OUT_ON, OUT_OFF = "OUT1", "OUT0"

STATUS_CV_BIT = 1 << 0  # 1 CV, 0 CC
STATUS_TRACKING_BITS = 0b1100  # two-channel models' tracking mode; 00 on the KA3005P
STATUS_OUTPUT_BIT = 1 << 6

SET_SETTLE_S = 0.0
"""Extra wait after a set before its read-back; the port's pacing already covers the
~50 ms a set needs."""
VOLTS_RESOLUTION = 0.01
AMPS_RESOLUTION = 0.001


class KoradKA3005P(RectifierSafeState):
    """Rectifier for a Korad KA3005P on a serial line."""

    def __init__(self, name: str, port: AsciiSerialPort, *, settle_s: float = SET_SETTLE_S):
        self.name = name
        self.port = port
        self.health = port.health
        self.settle_s = settle_s

    def _frame_error(self, command: str, reply: str) -> FrameError:
        error = FrameError(self.name, self.port.address_text, f"{command} -> {reply!r}")
        self.port.note_error(error)
        return error

    async def _number(self, command: str, length: int) -> float:
        reply = await self.port.query(command, length)
        # Cut short ("1." would read 1.0 A) or another query's reply ("12.50" V where amps
        # were asked): not this query's answer.
        if not FORMATS[command].fullmatch(reply):
            raise self._frame_error(command, reply)
        return float(reply)

    async def status(self) -> int:
        """The raw STATUS? byte (validated: one byte, tracking bits clear)."""
        reply = await self.port.query(STATUS_Q, STATUS_Q_LEN)
        if len(reply) != 1 or ord(reply) & STATUS_TRACKING_BITS:
            raise self._frame_error(STATUS_Q, reply)
        return ord(reply)

    async def identify(self) -> str:
        """The *IDN? string, e.g. 'KORAD KA3005P V5.5 SN:...'."""
        return (await self.port.query(IDN_Q)).strip()

    async def read(self) -> RectifierReading:
        volts = await self._number(VOUT_Q, VOUT_Q_LEN)
        amps = await self._number(IOUT_Q, IOUT_Q_LEN)
        v_set = await self._number(VSET_Q, VSET_Q_LEN)
        i_set = await self._number(ISET_Q, ISET_Q_LEN)
        status = await self.status()
        return RectifierReading(
            volts=volts,
            amps=amps,
            mode=RegulationMode.CV if status & STATUS_CV_BIT else RegulationMode.CC,
            output_on=bool(status & STATUS_OUTPUT_BIT),
            volts_setpoint=v_set,
            amps_setpoint=i_set,
        )

    async def _set_and_confirm(
        self, command: str, query: str, length: int, value: float, resolution: float
    ) -> None:
        await self.port.send(command)
        if self.settle_s:
            await self.port.sleep(self.settle_s)
        held = await self._number(query, length)
        if abs(held - value) > resolution / 2 + 1e-9:
            self._not_confirmed(f"{command}: device holds {held:g}")

    def _not_confirmed(self, detail: str) -> None:
        error = WriteNotConfirmed(self.name, self.port.address_text, detail)
        self.port.note_error(error)
        raise error

    async def set_current(self, amps: float) -> None:
        amps = round(amps, 3)
        await self._set_and_confirm(ISET.format(amps), ISET_Q, ISET_Q_LEN, amps, AMPS_RESOLUTION)

    async def set_voltage_limit(self, volts: float) -> None:
        volts = round(volts, 2)
        await self._set_and_confirm(VSET.format(volts), VSET_Q, VSET_Q_LEN, volts, VOLTS_RESOLUTION)

    async def _output(self, on: bool) -> None:
        await self.port.send(OUT_ON if on else OUT_OFF)
        if self.settle_s:
            await self.port.sleep(self.settle_s)
        if bool(await self.status() & STATUS_OUTPUT_BIT) != on:
            self._not_confirmed(f"output {'on' if on else 'off'} did not take")

    async def enable(self) -> None:
        await self._output(True)

    async def disable(self) -> None:
        await self._output(False)

    async def close(self) -> None:
        self.port.close()
