"""Modbus frames, server side: CRC-16/MODBUS, PDU dispatch to a slave, RTU and MBAP framing.

Only what the simulated devices need, exact to the Modbus Application Protocol v1.1b3 and
"Modbus over Serial Line" v1.02: FC03 / FC04 (read holding / input registers), FC06 (write
single register), FC16 (write multiple registers); every other function code answers
exception 1 (illegal function), as a real device without that function does.
"""

from __future__ import annotations

import logging
import struct
from dataclasses import dataclass

from simulators.device import ModbusSlave, SlaveException

log = logging.getLogger(__name__)

READ_HOLDING = 0x03
READ_INPUT = 0x04
WRITE_SINGLE = 0x06
WRITE_MULTIPLE = 0x10

ILLEGAL_FUNCTION = 0x01
ILLEGAL_DATA_ADDRESS = 0x02
ILLEGAL_DATA_VALUE = 0x03
DEVICE_FAILURE = 0x04
GATEWAY_TARGET_FAILED = 0x0B

MAX_READ_COUNT = 125  # spec limit for FC03/FC04: 125 registers fit in one 256-byte RTU frame
MAX_WRITE_COUNT = 123  # spec limit for FC16

MBAP_HEADER_LEN = 7
MAX_MBAP_LENGTH = 254  # unit id + the largest PDU (253 bytes)


def _crc16_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_CRC_TABLE = _crc16_table()


def crc16(data: bytes) -> int:
    """CRC-16/MODBUS (poly 0xA001 reflected, init 0xFFFF) of `data`."""
    crc = 0xFFFF
    for byte in data:
        crc = (crc >> 8) ^ _CRC_TABLE[(crc ^ byte) & 0xFF]
    return crc


def with_crc(frame: bytes) -> bytes:
    """`frame` followed by its CRC, low byte first as on the wire."""
    return frame + struct.pack("<H", crc16(frame))


def crc_ok(frame: bytes) -> bool:
    """Whether a complete RTU frame (CRC included) carries a correct CRC."""
    return len(frame) >= 4 and crc16(frame[:-2]) == struct.unpack("<H", frame[-2:])[0]


def exception_pdu(function: int, code: int) -> bytes:
    """Exception reply PDU: the function code with bit 7 set, then the exception code."""
    return bytes(((function | 0x80) & 0xFF, code))


def _read(slave: ModbusSlave, function: int, data: bytes) -> bytes:
    if len(data) != 4:
        raise SlaveException(ILLEGAL_DATA_VALUE)
    address, count = struct.unpack(">HH", data)
    if not 1 <= count <= MAX_READ_COUNT:
        raise SlaveException(ILLEGAL_DATA_VALUE)
    if address + count > 0x10000:
        raise SlaveException(ILLEGAL_DATA_ADDRESS)
    if function == READ_HOLDING:
        values = slave.read_holding(address, count)
    else:
        values = slave.read_input(address, count)
    if len(values) != count:
        raise ValueError(f"slave returned {len(values)} registers for a read of {count}")
    return bytes((function, 2 * count)) + struct.pack(f">{count}H", *values)


def _write_single(slave: ModbusSlave, data: bytes) -> bytes:
    if len(data) != 4:
        raise SlaveException(ILLEGAL_DATA_VALUE)
    address, value = struct.unpack(">HH", data)
    slave.write_register(address, value)
    return bytes((WRITE_SINGLE,)) + data  # the reply echoes the request


def _write_multiple(slave: ModbusSlave, data: bytes) -> bytes:
    if len(data) < 5:
        raise SlaveException(ILLEGAL_DATA_VALUE)
    address, count, byte_count = struct.unpack(">HHB", data[:5])
    if not 1 <= count <= MAX_WRITE_COUNT or byte_count != 2 * count or len(data) != 5 + byte_count:
        raise SlaveException(ILLEGAL_DATA_VALUE)
    if address + count > 0x10000:
        raise SlaveException(ILLEGAL_DATA_ADDRESS)
    values = list(struct.unpack(f">{count}H", data[5:]))
    slave.write_registers(address, values)
    return bytes((WRITE_MULTIPLE,)) + data[:4]


def handle_pdu(slave: ModbusSlave, pdu: bytes) -> bytes:
    """Answer one request PDU (function code + data) as `slave`: a reply or exception PDU."""
    if not pdu:
        return exception_pdu(0, ILLEGAL_FUNCTION)
    function, data = pdu[0], pdu[1:]
    try:
        if function in (READ_HOLDING, READ_INPUT):
            return _read(slave, function, data)
        if function == WRITE_SINGLE:
            return _write_single(slave, data)
        if function == WRITE_MULTIPLE:
            return _write_multiple(slave, data)
        return exception_pdu(function, ILLEGAL_FUNCTION)
    except SlaveException as exc:
        return exception_pdu(function, exc.code)
    except Exception:
        # A bug in a device model must not kill the server: real firmware answers
        # "slave device failure", and the log keeps the traceback for whoever fixes it.
        log.exception("simulated device unit %s failed on request %s", slave.unit, pdu.hex())
        return exception_pdu(function, DEVICE_FAILURE)


# RTU request lengths (address + PDU + CRC) for the function codes of the spec whose size
# is fixed, and where the byte count sits for those whose size is not.
_FIXED_REQUEST_LEN = {
    0x01: 8, 0x02: 8, 0x03: 8, 0x04: 8, 0x05: 8, 0x06: 8, 0x07: 4, 0x08: 8,
    0x0B: 4, 0x0C: 4, 0x11: 4, 0x16: 10, 0x18: 6, 0x2B: 7,
}  # fmt: skip
_COUNTED_REQUEST = {0x0F: 6, 0x10: 6, 0x14: 2, 0x15: 2, 0x17: 10}
"""function code -> index of the byte-count byte; length = index + 1 + count + 2 (CRC)."""


def rtu_request_length(buffer: bytes) -> int | None:
    """Total length of the RTU request at the start of `buffer`, from its function code.

    None when it cannot be told: too few bytes yet, or a function code this table does
    not know (then only the inter-frame gap ends the frame).
    """
    if len(buffer) < 2:
        return None
    function = buffer[1]
    if function in _FIXED_REQUEST_LEN:
        return _FIXED_REQUEST_LEN[function]
    index = _COUNTED_REQUEST.get(function)
    if index is None or len(buffer) <= index:
        return None
    return index + 1 + buffer[index] + 2


@dataclass(frozen=True)
class MbapHeader:
    """Modbus TCP application header (7 bytes)."""

    transaction_id: int
    protocol_id: int
    length: int
    """Bytes that follow the length field: unit id + PDU."""
    unit: int


def parse_mbap(header: bytes) -> MbapHeader:
    """Decode the 7-byte MBAP header; ValueError if it cannot start a Modbus TCP frame."""
    if len(header) != MBAP_HEADER_LEN:
        raise ValueError(f"MBAP header is {MBAP_HEADER_LEN} bytes, got {len(header)}")
    transaction_id, protocol_id, length, unit = struct.unpack(">HHHB", header)
    if protocol_id != 0:
        raise ValueError(f"MBAP protocol id must be 0 (Modbus), got {protocol_id}")
    if not 2 <= length <= MAX_MBAP_LENGTH:
        raise ValueError(f"MBAP length must be 2..{MAX_MBAP_LENGTH}, got {length}")
    return MbapHeader(transaction_id, protocol_id, length, unit)


def build_mbap(transaction_id: int, unit: int, pdu: bytes, protocol_id: int = 0) -> bytes:
    """A complete Modbus TCP frame: MBAP header + PDU."""
    return struct.pack(">HHHB", transaction_id, protocol_id, len(pdu) + 1, unit) + pdu
