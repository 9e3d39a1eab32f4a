"""PL011 UART (emu/devices/pl011.py) against register-level behaviour of Arm DDI 0183."""

import json

import pytest

from emu.devices.irq import IrqLine
from emu.devices.log import RecordingLog
from emu.devices.pl011 import (OERIS, RTIM, RTRIS, RXIM, RXRIS, TXIM, TXRIS, UARTCR_RXE,
                               UARTCR_TXE, UARTCR_UARTEN, UARTDR_OE, UARTFR_BUSY, UARTFR_RXFE,
                               UARTFR_RXFF, UARTFR_TXFE, UARTFR_TXFF, UARTLCR_H_FEN,
                               UARTRSR_OE, Pl011)

DR, RSR, FR, ILPR, IBRD, FBRD, LCR_H, CR = 0x00, 0x04, 0x18, 0x20, 0x24, 0x28, 0x2C, 0x30
IFLS, IMSC, RIS, MIS, ICR, DMACR = 0x34, 0x38, 0x3C, 0x40, 0x44, 0x48


class Uart:
    """A PL011 alone: a recording IRQ line, a list as the TX sink, a recording log."""

    def __init__(self):
        self.levels = []
        self.irq = IrqLine(self.levels.append, "uartintr")
        self.out = []
        self.log = RecordingLog()
        self.dev = Pl011(self.irq, self.out.append, self.log)

    def rd(self, off, size=4):
        return self.dev.read(off, size)

    def wr(self, off, value, size=4):
        self.dev.write(off, size, value)

    def enable(self, fifo=True):
        self.wr(CR, UARTCR_UARTEN | UARTCR_TXE | 0x200)
        if fifo:
            self.wr(LCR_H, UARTLCR_H_FEN | 0x60)

    @property
    def tx(self):
        return b"".join(self.out)


@pytest.fixture
def u():
    return Uart()


def test_reset_values(u):
    expect = {DR: 0, RSR: 0, FR: 0x90, ILPR: 0, IBRD: 0, FBRD: 0, LCR_H: 0, CR: 0x300,
              IFLS: 0x12, IMSC: 0, RIS: 0, MIS: 0, DMACR: 0}
    assert {off: u.rd(off) for off in expect} == expect
    assert not u.log.entries and not u.irq.level


def test_periph_id(u):
    assert [u.rd(0xFE0 + 4 * i) for i in range(4)] == [0x11, 0x10, 0x14, 0x00]
    assert [u.rd(0xFF0 + 4 * i) for i in range(4)] == [0x0D, 0xF0, 0x05, 0xB1]


def test_dr_write_transmits_immediately(u):
    u.enable()
    for c in b"hi\n":
        u.wr(DR, c)
    assert u.out == [b"h", b"i", b"\n"]
    assert not u.log.entries


def test_dr_byte_write_transmits(u):
    u.enable()
    u.wr(DR, ord("x"), size=1)
    assert u.tx == b"x"


def test_tx_without_uarten_still_transmits_and_logs_once(u):
    u.wr(DR, ord("a"))
    u.wr(DR, ord("b"))
    assert u.tx == b"ab"
    assert len(u.log.guest_errors) == 1 and "UARTEN" in u.log.guest_errors[0]


def test_fr_tx_always_empty(u):
    u.enable()
    u.wr(DR, 0x41)
    fr = u.rd(FR)
    assert fr & UARTFR_TXFE and not fr & (UARTFR_TXFF | UARTFR_BUSY)


def test_rx_pop_returns_data_in_order(u):
    u.enable()
    assert u.dev.push_rx(b"ab") == 2
    assert u.rd(DR) == ord("a")
    assert u.rd(DR) == ord("b")


def test_fr_rxfe_after_last_pop(u):
    u.enable()
    u.dev.push_rx(b"xy")
    assert not u.rd(FR) & UARTFR_RXFE
    u.rd(DR)
    assert not u.rd(FR) & UARTFR_RXFE
    u.rd(DR)
    assert u.rd(FR) & UARTFR_RXFE


def test_dr_read_when_empty_returns_zero(u):
    assert u.rd(DR) == 0
    assert u.rd(FR) & UARTFR_RXFE and u.dev.rx_room() == 1
    assert not u.log.entries


def test_fifo_disabled_holds_one_char(u):
    assert u.dev.push_rx(b"ab") == 1  # LCR_H.FEN=0 at reset: a one-character holding register
    assert u.rd(FR) & UARTFR_RXFF
    assert u.rd(DR) == ord("a") | UARTDR_OE
    assert u.rd(FR) & UARTFR_RXFE


def test_fifo_enabled_holds_32(u):
    u.enable()
    assert u.dev.rx_room() == 32
    assert u.dev.push_rx(bytes(range(32))) == 32
    assert u.rd(FR) & UARTFR_RXFF and not u.rd(RSR) & UARTRSR_OE


def test_overrun_sets_oe_and_keeps_fifo(u):
    u.enable()
    u.dev.push_rx(bytes(range(32)))
    assert u.dev.push_rx(b"\xff") == 0
    assert u.rd(RSR) & UARTRSR_OE and u.rd(RIS) & OERIS
    data = [u.rd(DR) for _ in range(32)]
    assert [d & 0xFF for d in data] == list(range(32))
    assert data[-1] & UARTDR_OE and not data[0] & UARTDR_OE
    u.wr(RSR, 0)  # UARTECR: any write clears the error bits
    assert u.rd(RSR) == 0


def test_rsr_reflects_char_read(u):
    u.dev.push_rx(b"a")
    u.dev.push_rx(b"b")  # overruns the holding register
    assert u.rd(DR) & UARTDR_OE
    assert u.rd(RSR) == UARTRSR_OE


def test_rx_interrupt_at_ifls_level(u):
    u.enable()  # IFLS reset 0x12: RX trigger at 1/2 of 32 = 16
    u.dev.push_rx(bytes(15))
    assert not u.rd(RIS) & RXRIS
    u.dev.push_rx(bytes(1))
    assert u.rd(RIS) & RXRIS
    u.rd(DR)
    assert not u.rd(RIS) & RXRIS  # below the level again


def test_rx_interrupt_any_char_without_fifo(u):
    u.dev.push_rx(b"z")
    assert u.rd(RIS) & RXRIS
    u.rd(DR)
    assert not u.rd(RIS) & (RXRIS | RTRIS)


def test_rx_timeout_while_fifo_not_empty(u):
    u.enable()
    u.dev.push_rx(b"ab")
    assert u.rd(RIS) & RTRIS and not u.rd(RIS) & RXRIS
    u.rd(DR)
    assert u.rd(RIS) & RTRIS
    u.rd(DR)
    assert not u.rd(RIS) & RTRIS


def test_tx_interrupt_after_write_when_enabled(u):
    assert not u.rd(RIS) & TXRIS  # no transition through the level yet
    u.enable()
    u.wr(DR, 0x41)
    assert u.rd(RIS) & TXRIS


def test_tx_interrupt_not_set_with_transmitter_disabled(u):
    u.wr(DR, 0x41)
    assert not u.rd(RIS) & TXRIS


def test_icr_write_one_clears_ris(u):
    u.enable()
    u.wr(DR, 0x41)
    u.dev.push_rx(b"a")
    assert u.rd(RIS) == TXRIS | RTRIS
    u.wr(ICR, TXRIS)
    assert u.rd(RIS) == RTRIS
    u.wr(ICR, 0)
    assert u.rd(RIS) == RTRIS
    u.wr(ICR, 0x7FF)
    assert u.rd(RIS) == 0


def test_icr_read_is_guest_error(u):
    assert u.rd(ICR) == 0
    assert len(u.log.guest_errors) == 1


def test_mis_is_ris_and_imsc(u):
    u.enable()
    u.wr(DR, 0x41)
    u.dev.push_rx(b"a")
    assert u.rd(MIS) == 0
    u.wr(IMSC, RTIM)
    assert u.rd(MIS) == RTRIS


def test_imsc_masking_drives_the_line(u):
    u.enable()
    u.wr(DR, 0x41)
    assert u.levels == []
    u.wr(IMSC, TXIM)
    assert u.levels == [True]
    u.wr(IMSC, RXIM)
    assert u.levels == [True, False]
    u.dev.push_rx(b"a" * 16)
    assert u.levels == [True, False, True]
    u.wr(ICR, RXRIS)
    assert u.levels == [True, False, True, False]


def test_irq_sink_called_only_on_level_change(u):
    u.enable()
    u.wr(IMSC, TXIM | RXIM | RTIM)
    for c in b"abc":
        u.wr(DR, c)
    u.dev.push_rx(b"x")
    u.dev.push_rx(b"y")
    assert u.levels == [True]


def test_rx_overrun_interrupt_masked_by_oeim(u):
    u.wr(IMSC, OERIS)
    u.dev.push_rx(b"a")
    assert u.levels == []
    u.dev.push_rx(b"b")
    assert u.levels == [True]


def test_fen_toggle_flushes_rx(u):
    u.enable()
    u.dev.push_rx(b"abc")
    u.wr(LCR_H, 0x60)
    assert u.rd(FR) & UARTFR_RXFE and not u.rd(RIS) & (RXRIS | RTRIS)


def test_bad_offset_logs_guest_error_and_reads_zero(u):
    assert u.rd(0x100) == 0
    u.wr(0x100, 5)
    assert len(u.log.guest_errors) == 2
    assert u.log.entries[0].source == "pl011"


def test_bad_size(u):
    assert u.rd(FR, size=8) == 0
    u.wr(IMSC + 1, 0xFFFF, size=2)  # misaligned halfword
    assert u.rd(IMSC) == 0
    assert len(u.log.guest_errors) == 2


def test_narrow_accesses_allowed(u):
    u.wr(IBRD, 0x1234, size=2)
    assert u.rd(IBRD) == 0x1234 and u.rd(IBRD + 1, size=1) == 0x12
    assert u.rd(FR, size=1) == 0x90


def test_ro_write_logs_guest_error(u):
    u.wr(FR, 0)
    u.wr(RIS, 0x7FF)
    u.wr(0xFE0, 0)
    assert len(u.log.guest_errors) == 3
    assert u.rd(RIS) == 0 and u.rd(0xFE0) == 0x11


def test_unmodelled_features_log_unimplemented(u):
    u.wr(DMACR, 0)
    assert not u.log.entries
    u.wr(DMACR, 3)
    u.wr(CR, 0x381)  # LBE
    u.wr(CR, 0x301)
    u.wr(CR, 0x381)
    assert len(u.log.unimplemented) == 2 and not u.log.guest_errors


def test_register_masks(u):
    u.wr(IBRD, 0xFFFF_FFFF)
    u.wr(FBRD, 0xFF)
    u.wr(IFLS, 0xFF)
    u.wr(CR, 0xFFFF_FFFF)
    assert (u.rd(IBRD), u.rd(FBRD), u.rd(IFLS), u.rd(CR)) == (0xFFFF, 0x3F, 0x3F, 0xFF87)


def test_reset_clears_fifo_and_line(u):
    u.enable()
    u.wr(IMSC, RTIM)
    u.dev.push_rx(b"abc")
    assert u.irq.level
    u.dev.reset()
    assert not u.irq.level and u.rd(FR) == 0x90 and u.rd(CR) == 0x300


def test_state_round_trip(u):
    u.enable()
    u.wr(IMSC, RXIM | RTIM)
    u.wr(IBRD, 13)
    u.dev.push_rx(b"hello")
    state = json.loads(json.dumps(u.dev.state()))
    v = Uart()
    v.dev.from_state(state)
    assert v.dev.state() == u.dev.state()
    assert v.irq.level and v.levels == [True]
    assert bytes(v.rd(DR) for _ in range(5)) == b"hello"
    assert v.rd(IBRD) == 13


# --- host input queue (queue_rx): flow control in front of the receive FIFO --------------

def drain(u):
    """Read UARTDR until UARTFR.RXFE, as a polling driver does."""
    out = bytearray()
    while not u.rd(FR) & UARTFR_RXFE:
        out.append(u.rd(DR) & 0xFF)
    return bytes(out)


def test_queue_rx_drains_as_fifo_frees(u):
    u.enable()
    data = bytes(range(100))
    u.dev.queue_rx(data)
    assert u.rd(FR) & UARTFR_RXFF and u.dev.rx_queued == 100 - 32
    assert u.rd(DR) == 0
    assert u.dev.rx_queued == 100 - 33 and u.rd(FR) & UARTFR_RXFF  # the read made room for one
    assert bytes([0]) + drain(u) == data
    assert u.dev.rx_queued == 0 and not u.rd(RSR) & UARTRSR_OE and not u.rd(RIS) & OERIS


def test_queue_rx_disabled_uart_receives_nothing(u):
    u.wr(LCR_H, UARTLCR_H_FEN | 0x60)  # FIFO on, UARTCR.UARTEN still clear (reset)
    u.dev.queue_rx(b"abc")
    assert u.rd(FR) & UARTFR_RXFE and u.rd(DR) == 0 and u.rd(RIS) == 0
    assert u.dev.rx_queued == 3
    u.wr(CR, UARTCR_UARTEN | UARTCR_TXE | UARTCR_RXE)
    assert u.dev.rx_queued == 0 and drain(u) == b"abc"


def test_queue_rx_rxe_clear_receives_nothing(u):
    u.wr(CR, UARTCR_UARTEN | UARTCR_TXE)  # transmitter only
    u.dev.queue_rx(b"x")
    assert u.rd(FR) & UARTFR_RXFE and u.dev.rx_queued == 1
    u.wr(CR, UARTCR_UARTEN | UARTCR_TXE | UARTCR_RXE)
    assert drain(u) == b"x"


def test_queue_rx_disabling_stops_delivery_but_keeps_the_fifo(u):
    u.enable()
    u.dev.queue_rx(bytes(40))
    u.wr(CR, UARTCR_TXE | UARTCR_RXE)  # UARTEN off: no flush (TRM, UARTCR)
    assert len(drain(u)) == 32 and u.dev.rx_queued == 8


def test_fen_toggle_flush_keeps_the_host_queue(u):
    u.enable()
    u.dev.queue_rx(bytes(range(40)))
    u.wr(LCR_H, 0x60)  # FEN 1 -> 0: the 32 characters in the FIFO are flushed
    assert u.dev.rx_queued == 7 and drain(u) == bytes([32]) + bytes(range(33, 40))


def test_queue_rx_fifo_disabled_holds_one_byte(u):
    u.wr(CR, UARTCR_UARTEN | UARTCR_TXE | UARTCR_RXE)  # LCR_H.FEN=0: a holding register
    u.dev.queue_rx(b"ab")
    assert u.rd(FR) & UARTFR_RXFF and u.dev.rx_queued == 1
    assert u.rd(DR) == ord("a")  # no overrun: b waited on the line
    assert u.rd(FR) & UARTFR_RXFF and u.rd(DR) == ord("b")
    assert u.rd(FR) & UARTFR_RXFE and not u.rd(RSR)


def test_uboot_init_sequence_loses_no_input(u):
    """Regression: --input given before boot was lost when U-Boot's pl01x init disabled the
    UART and set LCR_H.FEN, which flushes the receive FIFO."""
    u.dev.queue_rx(b"boot\n")
    u.wr(CR, 0)                        # "disable everything"
    u.wr(IBRD, 13)
    u.wr(FBRD, 1)
    u.wr(LCR_H, UARTLCR_H_FEN | 0x60)  # 8N1, FIFOs on: a flush
    u.wr(CR, UARTCR_UARTEN | UARTCR_TXE | UARTCR_RXE)
    assert drain(u) == b"boot\n"


def test_queue_rx_interrupts_follow_the_fifo(u):
    u.enable()
    u.wr(IMSC, RXIM | RTIM)
    u.dev.queue_rx(bytes(15))
    assert u.rd(RIS) == RTRIS and u.levels == [True]  # below the 1/2 trigger: timeout only
    u.wr(ICR, RTRIS)
    assert u.levels == [True, False]
    u.dev.queue_rx(bytes(20))  # 32 in the FIFO (level reached), 3 wait
    assert u.rd(RIS) == RXRIS | RTRIS and u.levels == [True, False, True]
    drain(u)
    assert u.rd(RIS) == 0 and u.levels == [True, False, True, False]


def test_queue_rx_refill_after_read_is_an_arrival(u):
    u.enable()
    u.wr(IMSC, RTIM)
    u.dev.queue_rx(bytes(33))
    u.wr(ICR, RTRIS | RXRIS)
    assert not u.irq.level
    u.rd(DR)  # the 33rd character arrives, followed by silence
    assert u.rd(RIS) & RTRIS and u.irq.level


def test_queue_rx_bounded(u):
    u.dev.queue_rx(bytes(u.dev.RX_QUEUE_MAX - 1))
    with pytest.raises(ValueError, match="at most"):
        u.dev.queue_rx(b"ab")
    assert u.dev.rx_queued == u.dev.RX_QUEUE_MAX - 1


def test_reset_keeps_the_host_queue(u):
    u.enable()
    u.dev.queue_rx(bytes(40))
    u.dev.reset()
    assert u.rd(FR) & UARTFR_RXFE and u.dev.rx_queued == 8


def test_read_with_receiver_off_and_input_waiting_logs_once(u):
    u.rd(FR)
    u.rd(DR)
    assert not u.log.entries  # nothing waits: nothing to say
    u.dev.queue_rx(b"a")
    u.rd(FR)
    u.rd(DR)
    assert len(u.log.guest_errors) == 1 and "UARTEN or RXE" in u.log.guest_errors[0]


def test_state_round_trip_keeps_the_host_queue(u):
    u.enable()
    u.dev.queue_rx(bytes(range(256)) * 2)
    u.rd(DR)
    state = json.loads(json.dumps(u.dev.state()))
    v = Uart()
    v.dev.from_state(state)
    assert v.dev.state() == u.dev.state() and v.dev.rx_queued == 512 - 33
    assert drain(v) == (bytes(range(256)) * 2)[1:]


@pytest.mark.parametrize("queue", ["not base64!", 5, "QQ="])
def test_from_state_rejects_a_bad_host_queue(u, queue):
    state = u.dev.state()
    state["rx_queue"] = queue
    with pytest.raises(ValueError, match="rx_queue"):
        u.dev.from_state(state)


def test_rx_poll_asked_only_when_fifo_and_queue_are_empty(u):
    u.enable()
    typed = [b"", b"hi", b""]
    calls = []

    def poll():
        calls.append(1)
        return typed.pop(0) if typed else b""

    u.dev.rx_poll = poll
    u.dev.queue_rx(b"q")
    assert u.rd(DR) == ord("q") and not calls  # the FIFO held something
    assert u.rd(FR) & UARTFR_RXFE and len(calls) == 1  # nothing typed yet
    assert not u.rd(FR) & UARTFR_RXFE and len(calls) == 2
    assert drain(u) == b"hi" and len(calls) == 3
