"""Simulated Korad KA3005P: unterminated ASCII commands, reply formats, framing."""

from __future__ import annotations

import pytest
from sim_fake_time import FakeTime

from simulators.korad import KoradKA3005P, split


@pytest.fixture
def korad(clock: FakeTime) -> KoradKA3005P:
    return KoradKA3005P(clock, noise_frac=0.0)


def test_set_and_query_formats(korad: KoradKA3005P) -> None:
    assert korad.handle(b"VSET1:12.50") is None
    assert korad.handle(b"VSET1?") == b"12.50"
    assert korad.handle(b"VSET1:5") is None
    assert korad.handle(b"VSET1?") == b"05.00"
    assert korad.handle(b"ISET1:1.250") is None
    assert korad.handle(b"ISET1?") == b"1.250"
    assert (korad.handle(b"*IDN?") or b"").startswith(b"KORAD KA3005P")


def test_output_readings_and_status_byte(korad: KoradKA3005P) -> None:
    korad.handle(b"VSET1:12.00")
    korad.handle(b"ISET1:2.000")
    assert korad.handle(b"STATUS?") == bytes([0b0000_0001])  # off, CV
    assert korad.handle(b"VOUT1?") == b"00.00"
    korad.handle(b"OUT1")
    assert korad.handle(b"STATUS?") == bytes([0b0100_0000])  # on, CC
    assert korad.handle(b"IOUT1?") == b"2.000"
    r = 0.5 / (1 + 0.015 * (20 - 25))  # small rack in a 20 °C bath
    assert korad.handle(b"VOUT1?") == f"{1.8 + 2 * r:05.2f}".encode()
    korad.handle(b"VSET1:02.50")  # under what 2 A needs: CV
    assert korad.handle(b"STATUS?") == bytes([0b0100_0001])
    korad.handle(b"OUT0")
    assert korad.handle(b"IOUT1?") == b"0.000"


def test_unknown_and_out_of_range_commands_get_silence(korad: KoradKA3005P) -> None:
    assert korad.handle(b"HELLO?") is None
    assert korad.handle(b"VSET1:99.00") is None
    assert korad.handle(b"VSET1:abc") is None
    assert korad.handle(b"VSET1?") == b"31.00"  # unchanged: the default (maximum)


def test_ocp_trips_the_output_when_the_current_limit_is_reached(korad: KoradKA3005P) -> None:
    korad.handle(b"ISET1:1.000")
    korad.handle(b"OCP1")
    korad.handle(b"OUT1")
    assert korad.handle(b"STATUS?") == bytes([1])  # output off again


def test_ocp_trip_stays_until_out1_and_ocp0_disarms_it(korad: KoradKA3005P) -> None:
    korad.handle(b"VSET1:12.00")
    korad.handle(b"ISET1:1.000")
    korad.handle(b"OCP1")
    korad.handle(b"OUT1")
    assert korad.handle(b"IOUT1?") == b"0.000"
    korad.handle(b"OUT1")  # still at the current limit: trips again
    assert korad.handle(b"STATUS?") == bytes([1])  # off
    korad.handle(b"OCP0")
    korad.handle(b"OUT1")
    assert korad.handle(b"STATUS?") == bytes([0b0100_0000])  # on, CC
    assert korad.handle(b"IOUT1?") == b"1.000"


def test_ovp_trips_the_output_when_the_voltage_limit_is_reached(korad: KoradKA3005P) -> None:
    korad.handle(b"VSET1:10.00")
    korad.handle(b"ISET1:1.000")
    korad.handle(b"OVP1")
    korad.handle(b"OUT1")
    assert korad.handle(b"STATUS?") == bytes([0b0100_0000])  # CC at ~2.3 V: on
    korad.inject("open_circuit")  # the voltage rises to VSET
    assert korad.handle(b"STATUS?") == bytes([1])  # off
    assert korad.handle(b"VOUT1?") == b"00.00"
    korad.clear()
    korad.handle(b"OUT1")
    korad.handle(b"VSET1:02.00")  # under what 1 A needs: CV at the limit trips
    assert korad.handle(b"STATUS?") == bytes([1])
    korad.handle(b"OVP0")
    korad.handle(b"OUT1")
    assert korad.handle(b"STATUS?") == bytes([0b0100_0001])  # on, CV


def test_faults(korad: KoradKA3005P) -> None:
    korad.handle(b"VSET1:10.00")
    korad.handle(b"ISET1:1.000")
    korad.handle(b"OUT1")
    korad.inject("open_circuit")
    assert korad.handle(b"IOUT1?") == b"0.000"
    assert korad.handle(b"VOUT1?") == b"10.00"
    assert korad.faults == {"open_circuit"}
    korad.inject("over_temperature")
    assert korad.handle(b"STATUS?") == bytes([1])
    with pytest.raises(ValueError, match="allowed"):
        korad.inject("stuck_relay")


def test_split_frames_unterminated_commands() -> None:
    commands, rest = split(b"VSET1:12.50ISET1:1.250OUT1STATUS?VOUT1?IOUT1?*IDN?")
    assert commands == [
        b"VSET1:12.50",
        b"ISET1:1.250",
        b"OUT1",
        b"STATUS?",
        b"VOUT1?",
        b"IOUT1?",
        b"*IDN?",
    ]
    assert rest == b""


def test_split_keeps_unfinished_commands_pending() -> None:
    assert split(b"VSET1?VSE") == ([b"VSET1?"], b"VSE")
    assert split(b"VSET1:12.5") == ([], b"VSET1:12.5")  # a decimal may still follow
    assert split(b"VSET1:5OUT1") == ([b"VSET1:5", b"OUT1"], b"")
    assert split(b"VSET1:12.5", flush=True) == ([b"VSET1:12.5"], b"")


def test_split_drops_bytes_that_start_no_command() -> None:
    assert split(b"\x00xyzOUT0") == ([b"OUT0"], b"")
    korad_method = KoradKA3005P(FakeTime()).split
    assert korad_method(b"zzSTATUS?") == ([b"STATUS?"], b"")
