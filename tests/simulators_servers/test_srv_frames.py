"""CRC, PDU dispatch and framing against the Modbus specification's own examples."""

from __future__ import annotations

import pytest
from srv_helpers import RegisterBank, crc_bytes

from simulators.device import ModbusSlave
from simulators.frames import (
    build_mbap,
    crc16,
    crc_ok,
    handle_pdu,
    parse_mbap,
    rtu_request_length,
    with_crc,
)


def test_crc16_matches_the_spec_example_and_a_bitwise_reference() -> None:
    # "Modbus over serial line" examples: 01 03 00 00 00 0A -> CRC bytes C5 CD on the wire.
    assert with_crc(bytes.fromhex("01030000000a")) == bytes.fromhex("01030000000ac5cd")
    for data in (b"", b"\x00", b"123456789", bytes(range(256))):
        assert crc16(data).to_bytes(2, "little") == crc_bytes(data)
    assert crc16(b"123456789") == 0x4B37  # CRC-16/MODBUS check value
    assert crc_ok(bytes.fromhex("01030000000ac5cd"))
    assert not crc_ok(bytes.fromhex("01030000000ac5ce"))


def test_pdu_reads_writes_and_exceptions() -> None:
    bank = RegisterBank(1, size=20)
    assert handle_pdu(bank, bytes.fromhex("0300020003")) == bytes.fromhex("0306000200030004")
    assert handle_pdu(bank, bytes.fromhex("0400000001")) == bytes.fromhex("04020000")
    assert handle_pdu(bank, bytes.fromhex("060005abcd")) == bytes.fromhex("060005abcd")
    assert bank.registers[5] == 0xABCD
    assert handle_pdu(bank, bytes.fromhex("1000010002040102fffe")) == bytes.fromhex(
        "1000010002"
    )
    assert bank.registers[1:3] == [0x0102, 0xFFFE]
    assert handle_pdu(bank, bytes.fromhex("0300130002")) == bytes.fromhex("8302")  # past end
    assert handle_pdu(bank, bytes.fromhex("030000007e")) == bytes.fromhex("8303")  # 126 regs
    assert handle_pdu(bank, bytes.fromhex("0300000000")) == bytes.fromhex("8303")  # 0 regs
    assert handle_pdu(bank, bytes.fromhex("100001000203010203")) == bytes.fromhex("9003")
    assert handle_pdu(bank, bytes.fromhex("0100000001")) == bytes.fromhex("8101")  # coils
    assert handle_pdu(bank, bytes.fromhex("2b0e0100")) == bytes.fromhex("ab01")
    assert handle_pdu(bank, bytes.fromhex("03ff")) == bytes.fromhex("8303")  # truncated


def test_a_failing_device_answers_device_failure() -> None:
    class Broken(ModbusSlave):
        def read_holding(self, address: int, count: int) -> list[int]:
            return [70000]  # not a 16-bit register

    assert handle_pdu(Broken(1), bytes.fromhex("0300000001")) == bytes.fromhex("8304")


@pytest.mark.parametrize(
    ("frame_hex", "length"),
    [
        ("01", None),
        ("0103", 8),
        ("0106", 8),
        ("011000000002", None),
        ("01100000000204", 13),
        ("01640000", None),  # unknown function code: only the gap can end it
    ],
)
def test_rtu_request_length(frame_hex: str, length: int | None) -> None:
    assert rtu_request_length(bytes.fromhex(frame_hex)) == length


def test_mbap_round_trip_and_rejection() -> None:
    frame = build_mbap(0x1234, 7, bytes.fromhex("0300000001"))
    assert frame == bytes.fromhex("12340000000607") + bytes.fromhex("0300000001")
    header = parse_mbap(frame[:7])
    assert (header.transaction_id, header.length, header.unit) == (0x1234, 6, 7)
    with pytest.raises(ValueError, match="protocol id"):
        parse_mbap(bytes.fromhex("12340001000607"))
    with pytest.raises(ValueError, match="length"):
        parse_mbap(bytes.fromhex("12340000ffff07"))
