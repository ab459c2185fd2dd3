"""Register codec: known vectors from the orders' definitions, and property round trips."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.codec import ByteOrder, DataType, Register, RegisterBlock, decode, encode


@pytest.mark.parametrize(
    "order, words",
    [
        (ByteOrder.ABCD, [0x1234, 0x5678]),
        (ByteOrder.CDAB, [0x5678, 0x1234]),
        (ByteOrder.BADC, [0x3412, 0x7856]),
        (ByteOrder.DCBA, [0x7856, 0x3412]),
    ],
)
def test_uint32_orders_place_bytes_as_named(order: ByteOrder, words: list[int]) -> None:
    assert encode(0x12345678, DataType.UINT32, order) == words
    assert decode(words, DataType.UINT32, order) == 0x12345678


def test_float32_abcd_is_ieee_high_word_first() -> None:
    assert encode(850.5, DataType.FLOAT32) == [0x4454, 0xA000]
    assert decode([0x4454, 0xA000], DataType.FLOAT32) == 850.5


def test_int16_negative_and_scale() -> None:
    assert encode(-12.5, DataType.INT16, scale=10) == [0xFF83]
    assert decode([0xFF83], DataType.INT16, scale=10) == -12.5


def test_sixteen_bit_byte_swap_orders() -> None:
    assert encode(0x1234, DataType.UINT16, ByteOrder.BADC) == [0x3412]
    assert encode(0x1234, DataType.UINT16, ByteOrder.CDAB) == [0x1234]


def test_out_of_range_values_are_refused() -> None:
    with pytest.raises(ValueError, match="does not fit uint16"):
        encode(70000, DataType.UINT16)
    with pytest.raises(ValueError, match="does not fit int16"):
        encode(400.0, DataType.INT16, scale=100)


def test_register_takes_its_words_out_of_a_block() -> None:
    block = RegisterBlock(
        (Register("a", 5, DataType.UINT32, scale=100), Register("b", 3, scale=10))
    )
    assert (block.first, block.count) == (3, 4)
    assert block.decode([123, 0, 0, 250]) == {"a": 2.5, "b": 12.3}


INT_RANGES = {
    DataType.INT16: (-(2**15), 2**15 - 1),
    DataType.UINT16: (0, 2**16 - 1),
    DataType.INT32: (-(2**31), 2**31 - 1),
    DataType.UINT32: (0, 2**32 - 1),
}


@given(
    dtype=st.sampled_from(list(INT_RANGES)),
    order=st.sampled_from(list(ByteOrder)),
    data=st.data(),
)
def test_integer_round_trip(dtype: DataType, order: ByteOrder, data: st.DataObject) -> None:
    low, high = INT_RANGES[dtype]
    value = data.draw(st.integers(low, high))
    words = encode(value, dtype, order)
    assert all(0 <= w <= 0xFFFF for w in words)
    assert decode(words, dtype, order) == value


@given(
    order=st.sampled_from(list(ByteOrder)),
    value=st.floats(width=32, allow_nan=False),
)
def test_float32_round_trip(order: ByteOrder, value: float) -> None:
    assert decode(encode(value, DataType.FLOAT32, order), DataType.FLOAT32, order) == value


@given(order=st.sampled_from(list(ByteOrder)))
def test_float32_nan_survives(order: ByteOrder) -> None:
    assert math.isnan(decode(encode(math.nan, DataType.FLOAT32, order), DataType.FLOAT32, order))


@given(
    scale=st.sampled_from([1, 10, 100, 1000]),
    raw=st.integers(0, 2**32 - 1),
    order=st.sampled_from(list(ByteOrder)),
)
def test_scaled_round_trip_from_the_wire(scale: int, raw: int, order: ByteOrder) -> None:
    # Decoding then re-encoding any wire value gives the same words back.
    words = encode(raw, DataType.UINT32, order)
    value = decode(words, DataType.UINT32, order, scale)
    assert encode(value, DataType.UINT32, order, scale) == words
