"""The GDB remote-protocol packet layer on byte strings: framing, checksums, escaping, bad input."""

from __future__ import annotations

import pytest

from emu.debug.gdbproto import (
    ProtocolError,
    Ack,
    BadPacket,
    Interrupt,
    Packet,
    PacketReader,
    checksum,
    console_output,
    escape,
    frame,
    hex_le,
    parse_hex,
    parse_hex_le,
    unescape,
    unhex,
)


def test_checksum_is_byte_sum_modulo_256():
    assert checksum(b"") == 0
    assert checksum(b"OK") == 0x9A
    assert checksum(b"\xff\x02") == 0x01


def test_frame_of_ok_matches_the_manual():
    assert frame(b"OK") == b"$OK#9a"


def test_escape_covers_the_four_special_bytes():
    assert escape(b"}#$*a") == b"}]}\x03}\x04}\na"
    assert unescape(escape(bytes(range(256)))) == bytes(range(256))


def test_frame_checksum_is_over_the_escaped_bytes():
    f = frame(b"a#b")
    assert f == b"$a}\x03b#" + b"%02x" % checksum(b"a}\x03b")


def test_reader_splits_acks_interrupts_and_packets_fed_byte_by_byte():
    r = PacketReader()
    events = []
    for b in b"+$g#67-\x03$m0,4#fd":
        events += r.feed(bytes((b,)))
    assert events == [Ack(True), Packet(b"g"), Ack(False), Interrupt(), Packet(b"m0,4")]


def test_reader_reports_bad_checksum():
    (ev,) = PacketReader().feed(b"$g#00")
    assert isinstance(ev, BadPacket) and "checksum" in ev.reason


def test_reader_reports_non_hex_checksum():
    (ev,) = PacketReader().feed(b"$g#zz")
    assert isinstance(ev, BadPacket)


def test_reader_unescapes_binary_payloads():
    (ev,) = PacketReader().feed(frame(b"X0,4:}#$*"))
    assert ev == Packet(b"X0,4:}#$*")


def test_reader_decodes_run_length_encoding():
    # '0* ' is '0' followed by 32 - 29 = 3 more: "0000".
    body = b"0* "
    (ev,) = PacketReader().feed(b"$" + body + b"#%02x" % checksum(body))
    assert ev == Packet(b"0000")


def test_unescape_rejects_a_dangling_escape():
    with pytest.raises(ProtocolError):
        unescape(b"ab}")


def test_reader_treats_an_escaped_hash_as_data():
    # '}' + '#' is the byte 0x03, not the end of the packet: the packet ends at the next '#'.
    body = b"a}#b"
    assert PacketReader().feed(b"$" + body + b"#%02x" % checksum(body)) == [Packet(b"a\x03b")]


def test_reader_rejects_run_length_with_nothing_to_repeat():
    body = b"* "
    (ev,) = PacketReader().feed(b"$" + body + b"#%02x" % checksum(body))
    assert isinstance(ev, BadPacket)


def test_reader_drops_line_noise_between_packets():
    assert PacketReader().feed(b"garbage\r\n$g#67") == [Packet(b"g")]


def test_reader_abandons_a_packet_interrupted_by_another():
    events = PacketReader().feed(b"$m0,4$g#67")
    assert isinstance(events[0], BadPacket) and events[1] == Packet(b"g")


def test_reader_abandons_an_oversized_packet_and_recovers():
    r = PacketReader(max_size=16)
    events = r.feed(b"$" + b"a" * 64)
    assert len(events) == 1 and isinstance(events[0], BadPacket)
    assert not r.mid_packet
    assert r.feed(b"$g#67") == [Packet(b"g")]


def test_reader_knows_when_it_is_mid_packet():
    r = PacketReader()
    r.feed(b"$m40")
    assert r.mid_packet
    r.feed(b"0,4#00")
    assert not r.mid_packet


def test_register_values_are_little_endian_hex():
    assert hex_le(0x1122334455667788, 8) == b"8877665544332211"
    assert parse_hex_le(b"8877665544332211", 8) == 0x1122334455667788
    assert hex_le(-1, 4) == b"ffffffff"


def test_console_output_is_hex_text():
    assert console_output("hi\n") == b"O68690a"


def test_numbers_are_hex_digits_within_64_bits():
    assert parse_hex(b"40200000") == 0x40200000
    assert parse_hex(b"FFFFffffFFFFffff") == (1 << 64) - 1
    assert parse_hex(b"0" * 100 + b"1") == 1   # leading zeros are still the number
    assert parse_hex(b"ff", 8) == 0xFF


@pytest.mark.parametrize("text", [b"", b"-1", b"+1", b"0x10", b" 1", b"1 ", b"1_0", b"zz", b"\xff",
                                  b"10000000000000000"])
def test_what_int_would_take_is_not_a_protocol_number(text):
    with pytest.raises(ValueError):
        parse_hex(text)


def test_a_number_wider_than_asked_is_refused():
    with pytest.raises(ValueError):
        parse_hex(b"100", 8)


@pytest.mark.parametrize("text", [b"0", b"00 11", b"0g", b" 00", b"\xff\xff"])
def test_hex_encoded_bytes_are_pairs_of_digits_and_nothing_else(text):
    assert unhex(b"00ff7F") == b"\x00\xff\x7f"
    with pytest.raises(ValueError):
        unhex(text)
    with pytest.raises(ValueError):
        parse_hex_le(text, len(text) // 2)
