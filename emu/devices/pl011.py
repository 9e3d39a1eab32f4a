"""Arm PrimeCell UART (PL011), per the PrimeCell UART (PL011) Technical Reference Manual,
Arm DDI 0183, revision r1p5.

Interface
    MMIO      4 KiB (SIZE 0x1000); byte, halfword and word accesses to every register.
    IRQ out   ``irq`` is UARTINTR, the OR of the masked interrupt status (UARTMIS).
    TX        ``tx(bytes)`` receives each byte the moment the guest writes UARTDR.
    RX        ``queue_rx(data)`` is the host end of the line (--input, stdin, a test's
              ``uart.send``): the bytes wait in a host queue and enter the receive FIFO as the
              guest can take them (see Receiving below); ``rx_queued`` says how many wait.
              ``push_rx(data)`` is a line without flow control: the bytes arrive at once,
              whatever UARTCR says, and what does not fit overruns. ``rx_room()`` says how many
              characters the FIFO can still take. ``rx_poll``, when set, is a non-blocking
              host source (an interactive terminal): called whenever the guest reads UARTFR or
              UARTDR and finds both the FIFO and the host queue empty, it returns the bytes
              available now (or none), which are queued. What it returns depends on host
              timing, so such a run is not reproducible; a guest waiting in WFI for a receive
              interrupt does not poll, and sees only what arrived before it slept.
    Not modelled
              baud rate timing (UARTIBRD/UARTFBRD are storage only), modem lines (CTS, DSR,
              DCD, RI inputs read as 0; DTR/RTS/OUT outputs go nowhere), DMA (UARTDMACR is
              storage; enabling it is logged as unimplemented), IrDA SIR and loopback
              (logged as unimplemented), break, parity and framing errors (their bits exist
              in UARTDR, UARTRSR and UARTRIS but nothing raises them).

Deliberate simplifications, each chosen so that the guest-visible result matches either
the TRM or QEMU's pl011 (our differential reference):

- Transmission is instantaneous, so the transmit FIFO is always empty: UARTFR.TXFE=1,
  TXFF=0, BUSY=0. The transmit interrupt is level-crossing in the TRM (Interrupts,
  UARTTXINTR): it asserts when the FIFO drains to its trigger level. Each UARTDR write
  therefore clears TXRIS (the FIFO filled) and sets it again (it drained) when the UART
  and its transmitter are enabled. Nothing sets TXRIS at reset, as on silicon.
- The TRM requires UARTCR.UARTEN and TXE for transmission. QEMU transmits regardless, and
  guests written against QEMU often never touch UARTCR, so we transmit regardless too and
  log one guest error.
- The FIFOs are 32 entries deep (r1p5; earlier revisions had 16). With UARTLCR_H.FEN=0
  they become one-character holding registers. Toggling FEN flushes the receive FIFO, as
  QEMU does (7.2 resets its read pointers on any UARTLCR_H write that changes FEN); the TRM's
  UARTCR programming sequence flushes the transmit FIFO by clearing FEN. Disabling the UART
  (UARTCR.UARTEN=0) does not flush: the TRM has it finish the current character and stop.
- The receive interrupt RXRIS asserts when a character arrives and the receive FIFO holds
  at least the UARTIFLS.RXIFLSEL level (1/8 .. 7/8 of 32), or any character with the FIFO
  disabled; reading the FIFO below the level, or UARTICR, clears it.
- Receive timeout (RTRIS) needs 32 bit periods of line silence, and we have no baud
  clock. We treat every ``push_rx`` as followed by silence: RTRIS asserts whenever the
  receive FIFO is non-empty after a push, and clears when the FIFO is read empty or by
  UARTICR. A driver that unmasks RXIM and RTIM (Linux, most RTOS drivers) thus sees each
  input burst at once.
- Overrun: a character that arrives while the receive FIFO is full is lost; UARTRSR.OE and
  OERIS are set, and the newest character in the FIFO carries UARTDR.OE (TRM, UARTDR).
- Reading UARTDR with the receive FIFO empty returns 0 and changes nothing.

Receiving: the host queue and flow control
    Input from the host (``queue_rx``) is what a terminal on the line would still have to
    send. A character moves from the host queue into the receive FIFO only while the
    receiver runs (UARTCR.UARTEN and RXE both set) and the FIFO (with FEN=0, the holding
    register) has room, and it moves at once: when the input is queued, when a UARTDR read
    frees an entry, when UARTCR enables the receiver, when a UARTLCR_H write flushes or
    resizes the FIFO. There is no baud clock, so the host queue never overruns the FIFO and
    the moment a character becomes visible depends only on what the guest did, never on host
    timing: the same input gives the same transcript every run. Each move counts as an
    arrival followed by line silence (RXRIS at the trigger level, RTRIS while the FIFO is not
    empty, as for ``push_rx``).
    A FIFO flush drops only what had already entered the FIFO; the host queue keeps the rest.
    A driver that disables the UART before reprogramming it (U-Boot's pl01x, Linux's amba-pl011)
    therefore loses nothing: with the receiver off, nothing entered the FIFO.
    QEMU's pl011 receives with UARTEN or RXE clear (deliberately, for guests only ever run on
    QEMU, which never enable the UART); here queued input waits for the guest to enable the
    receiver, and a guest that reads UARTDR or UARTFR with its receiver off while input
    waits gets one guest-error line saying so. A device reset empties the FIFO but not the
    host queue (the terminal is not reset with the UART).
"""

from __future__ import annotations

import base64
import binascii
from collections import deque
from typing import Any, Callable

from .base import MmioDevice
from .irq import IrqLine
from .log import LogSink
from .regs import RO, Access, Field, Reg, RegisterMap, flags

# UARTDR, read side: the character and the error bits received with it (TRM, UARTDR).
UARTDR_DATA = 0xFF
UARTDR_FE = 1 << 8
UARTDR_PE = 1 << 9
UARTDR_BE = 1 << 10
UARTDR_OE = 1 << 11

# UARTRSR/UARTECR.
UARTRSR_FE = 1 << 0
UARTRSR_PE = 1 << 1
UARTRSR_BE = 1 << 2
UARTRSR_OE = 1 << 3

# UARTFR.
UARTFR_CTS = 1 << 0
UARTFR_DSR = 1 << 1
UARTFR_DCD = 1 << 2
UARTFR_BUSY = 1 << 3
UARTFR_RXFE = 1 << 4
UARTFR_TXFF = 1 << 5
UARTFR_RXFF = 1 << 6
UARTFR_TXFE = 1 << 7
UARTFR_RI = 1 << 8

# UARTLCR_H.
UARTLCR_H_FEN = 1 << 4

# UARTCR.
UARTCR_UARTEN = 1 << 0
UARTCR_SIREN = 1 << 1
UARTCR_LBE = 1 << 7
UARTCR_TXE = 1 << 8
UARTCR_RXE = 1 << 9

# Interrupt bits, at the same positions in UARTIMSC, UARTRIS, UARTMIS and UARTICR,
# named here after UARTRIS.
RIRMIS = 1 << 0
CTSRMIS = 1 << 1
DCDRMIS = 1 << 2
DSRRMIS = 1 << 3
RXRIS = 1 << 4
TXRIS = 1 << 5
RTRIS = 1 << 6
FERIS = 1 << 7
PERIS = 1 << 8
BERIS = 1 << 9
OERIS = 1 << 10
INT_ALL = 0x7FF

# UARTIMSC mask bits by their own names, for drivers and tests.
RXIM, TXIM, RTIM, OEIM = RXRIS, TXRIS, RTRIS, OERIS

FIFO_DEPTH = 32  # r1p5
RX_QUEUE_MAX = 16 << 20  # bytes of host input waiting to enter the receive FIFO

# UARTIFLS.RXIFLSEL -> receive trigger level in characters (TRM, UARTIFLS; 32-deep FIFO).
# The values 0b101-0b111 are reserved; we treat them as 1/2.
_RX_TRIGGER = (4, 8, 16, 24, 28, 16, 16, 16)

_INT_FIELDS = ("RI", "CTS", "DCD", "DSR", "RX", "TX", "RT", "FE", "PE", "BE", "OE")


def _int_fields(suffix: str) -> tuple[Field, ...]:
    return flags(*(n + suffix for n in _INT_FIELDS))


class Pl011(MmioDevice):
    """PL011 UART (Arm DDI 0183 r1p5). See the module docstring for the interface."""

    SIZE = 0x1000
    FIFO_DEPTH = FIFO_DEPTH
    RX_QUEUE_MAX = RX_QUEUE_MAX

    REGS = RegisterMap(
        Reg("DR", 0x000, mask=UARTDR_DATA, on_read="_read_dr", on_write="_write_dr",
            fields=(Field("DATA", 0, 8),) + flags(*[None] * 8, "FE", "PE", "BE", "OE")),
        # UARTRSR when read, UARTECR when written (any write clears it).
        Reg("RSR", 0x004, mask=0xF, on_write="_write_ecr", fields=flags("FE", "PE", "BE", "OE")),
        Reg("FR", 0x018, access=RO, reset=UARTFR_TXFE | UARTFR_RXFE, on_read="_read_fr",
            fields=flags("CTS", "DSR", "DCD", "BUSY", "RXFE", "TXFF", "RXFF", "TXFE", "RI")),
        Reg("ILPR", 0x020, mask=0xFF, fields=(Field("ILPDVSR", 0, 8),)),
        Reg("IBRD", 0x024, mask=0xFFFF, fields=(Field("BAUD_DIVINT", 0, 16),)),
        Reg("FBRD", 0x028, mask=0x3F, fields=(Field("BAUD_DIVFRAC", 0, 6),)),
        Reg("LCR_H", 0x02C, mask=0xFF, on_write="_write_lcr_h",
            fields=flags("BRK", "PEN", "EPS", "STP2", "FEN")
            + (Field("WLEN", 5, 2), Field("SPS", 7))),
        Reg("CR", 0x030, mask=0xFF87, reset=UARTCR_TXE | UARTCR_RXE, on_change="_cr_changed",
            fields=flags("UARTEN", "SIREN", "SIRLP", None, None, None, None, "LBE", "TXE", "RXE",
                         "DTR", "RTS", "Out1", "Out2", "RTSEn", "CTSEn")),
        Reg("IFLS", 0x034, mask=0x3F, reset=0x12,
            fields=(Field("TXIFLSEL", 0, 3), Field("RXIFLSEL", 3, 3))),
        Reg("IMSC", 0x038, mask=INT_ALL, on_change="_update_irq", fields=_int_fields("IM")),
        Reg("RIS", 0x03C, access=RO, fields=_int_fields("RIS")),
        Reg("MIS", 0x040, access=RO, on_read="_read_mis", fields=_int_fields("MIS")),
        # Write-only, write-one-to-clear over UARTRIS.
        Reg("ICR", 0x044, access=Access.CLEAR, target="RIS", mask=INT_ALL,
            on_change="_update_irq", fields=_int_fields("IC")),
        Reg("DMACR", 0x048, mask=0x7, on_change="_dmacr_changed",
            fields=flags("RXDMAE", "TXDMAE", "DMAONERR")),
        Reg("PeriphID", 0xFE0, access=RO, count=4, reset=(0x11, 0x10, 0x14, 0x00)),
        Reg("PCellID", 0xFF0, access=RO, count=4, reset=(0x0D, 0xF0, 0x05, 0xB1)),
        sizes=(1, 2, 4),
    )

    def __init__(self, irq: IrqLine, tx: Callable[[bytes], None], log: LogSink | None = None,
                 name: str = "pl011"):
        super().__init__(log=log, name=name)
        self.irq = irq
        self._tx = tx
        self._rx: deque[int] = deque()  # entries are UARTDR read values: data | error bits
        # The host queue: bytes from _queue_pos on have not entered the FIFO yet.
        self._queue = bytearray()
        self._queue_pos = 0
        self.rx_poll: Callable[[], bytes] | None = None

    # --- receive path (input side) -----------------------------------------------------

    def _rx_depth(self) -> int:
        return self.FIFO_DEPTH if self.regs["LCR_H"] & UARTLCR_H_FEN else 1

    def _rx_trigger(self) -> int:
        if not self.regs["LCR_H"] & UARTLCR_H_FEN:
            return 1
        return _RX_TRIGGER[(self.regs["IFLS"] >> 3) & 0x7]

    def rx_room(self) -> int:
        """How many characters the receive FIFO (or holding register) can still take."""
        return max(0, self._rx_depth() - len(self._rx))

    def push_rx(self, data: bytes) -> int:
        """Characters arriving on UARTRXD now, without flow control. Returns how many were
        stored; the rest overran."""
        stored = self._arrive(data)
        self._update_irq()
        return stored

    def queue_rx(self, data: bytes) -> None:
        """Host input for the guest, delivered with flow control (module docstring,
        Receiving). Raises ValueError, queuing nothing, past RX_QUEUE_MAX waiting bytes."""
        if self.rx_queued + len(data) > self.RX_QUEUE_MAX:
            raise ValueError(f"the UART's input queue holds at most {self.RX_QUEUE_MAX} bytes "
                             f"({self.rx_queued} wait, {len(data)} more given)")
        self._queue += data
        self._take_queued()
        self._update_irq()

    @property
    def rx_queued(self) -> int:
        """Bytes of host input not yet in the receive FIFO."""
        return len(self._queue) - self._queue_pos

    def _receiver_on(self) -> bool:
        cr = self.regs["CR"]
        return bool(cr & UARTCR_UARTEN and cr & UARTCR_RXE)

    def _take_queued(self) -> None:
        """Move host input into the FIFO while the receiver runs and the FIFO has room.
        The caller updates the IRQ output."""
        n = min(self.rx_queued, self.rx_room()) if self._receiver_on() else 0
        if not n:
            return
        pos = self._queue_pos
        self._arrive(self._queue[pos:pos + n])
        pos += n
        if pos == len(self._queue):
            self._queue.clear()
            pos = 0
        elif pos >= 1 << 16 and 2 * pos >= len(self._queue):
            del self._queue[:pos]  # drop what was delivered, once it is half the buffer
            pos = 0
        self._queue_pos = pos

    def _arrive(self, data: bytes) -> int:
        """Characters entering the receive FIFO; RIS follows. Returns how many fitted."""
        depth, trigger = self._rx_depth(), self._rx_trigger()
        ris = self.regs["RIS"]
        stored = 0
        for byte in data:
            if len(self._rx) >= depth:
                # Overrun (TRM, UARTRSR.OE): the FIFO keeps its contents, the new character is lost.
                self.regs["RSR"] |= UARTRSR_OE
                ris |= OERIS
                self._rx[-1] |= UARTDR_OE
                continue
            self._rx.append(byte & UARTDR_DATA)
            stored += 1
            if len(self._rx) >= trigger:
                ris |= RXRIS
        if self._rx:
            ris |= RTRIS  # see the module docstring: an arrival is followed by line silence
        self.regs["RIS"] = ris
        return stored

    def _rx_empty(self) -> None:
        """The guest found the receive FIFO empty: ask the host for more, or say why none comes."""
        if self.rx_poll is not None and not self.rx_queued:
            data = self.rx_poll()
            if data:
                self.queue_rx(data)
        if self.rx_queued and not self._receiver_on():
            self.guest_error("receive FIFO read with input waiting but UARTCR.UARTEN or RXE clear: "
                             "nothing is received until the guest enables the receiver",
                             once="rx-disabled")

    # --- register handlers -------------------------------------------------------------

    def _read_dr(self) -> int:
        if not self._rx:
            self._rx_empty()
            return 0  # what arrived now shows in the next read
        entry = self._rx.popleft()
        # UARTRSR reflects the character just read; OE stays until UARTECR is written.
        self.regs["RSR"] = (self.regs["RSR"] & UARTRSR_OE) | ((entry >> 8) & 0xF)
        ris = self.regs["RIS"]
        if len(self._rx) < self._rx_trigger():
            ris &= ~RXRIS
        if not self._rx:
            ris &= ~RTRIS
        self.regs["RIS"] = ris
        self._take_queued()  # the entry just read makes room for the next queued character
        self._update_irq()
        return entry

    def _write_dr(self, value: int) -> None:
        cr = self.regs["CR"]
        enabled = cr & UARTCR_UARTEN and cr & UARTCR_TXE
        if not enabled:
            self.guest_error("UARTDR written with UARTCR.UARTEN or TXE clear; transmitting anyway",
                             once="tx-disabled")
        self._tx(bytes((value & UARTDR_DATA,)))
        # The byte fills the FIFO (TXRIS clears) and drains at once (TXRIS sets, if the
        # transmitter runs): TRM, Interrupts: UARTTXINTR.
        ris = self.regs["RIS"] & ~TXRIS
        if enabled:
            ris |= TXRIS
        self.regs["RIS"] = ris
        self._update_irq()

    def _write_ecr(self, value: int) -> None:
        self.regs["RSR"] = 0  # any write to UARTECR clears the framing/parity/break/overrun bits

    def _read_fr(self) -> int:
        if not self._rx:
            self._rx_empty()
        fr = UARTFR_TXFE  # the transmit FIFO is always empty, never busy
        if not self._rx:
            fr |= UARTFR_RXFE
        elif len(self._rx) >= self._rx_depth():
            fr |= UARTFR_RXFF
        return fr

    def _write_lcr_h(self, value: int) -> None:
        old = self.regs["LCR_H"]
        self.regs["LCR_H"] = value
        if (old ^ value) & UARTLCR_H_FEN:
            # The flush drops what entered the FIFO, never the host queue, which refills
            # the FIFO (now of the other depth) if the receiver runs.
            self._rx.clear()
            self.regs["RIS"] &= ~(RXRIS | RTRIS)
            self._take_queued()
            self._update_irq()

    def _cr_changed(self) -> None:
        cr = self.regs["CR"]
        if cr & UARTCR_LBE:
            self.unimp("loopback (UARTCR.LBE) is not modelled", once="lbe")
        if cr & UARTCR_SIREN:
            self.unimp("IrDA SIR (UARTCR.SIREN) is not modelled", once="siren")
        self._take_queued()  # the receiver may just have been enabled
        self._update_irq()

    def _dmacr_changed(self) -> None:
        if self.regs["DMACR"]:
            self.unimp("DMA requests (UARTDMACR) are not modelled", once="dma")

    def _read_mis(self) -> int:
        return self.regs["RIS"] & self.regs["IMSC"]

    def _update_irq(self) -> None:
        """UARTINTR: the OR of all masked interrupt status bits (TRM, Interrupts: UARTINTR)."""
        self.irq.set(self.regs["RIS"] & self.regs["IMSC"] & INT_ALL)

    # --- life cycle --------------------------------------------------------------------

    def reset(self) -> None:
        """Registers and FIFO to reset; the host queue stays (it is the far end of the line)."""
        super().reset()
        self._rx.clear()
        self._update_irq()

    def state(self) -> dict[str, Any]:
        s = super().state()
        s["rx_fifo"] = list(self._rx)
        # The host queue as base64: up to RX_QUEUE_MAX bytes, compact in a JSON header.
        s["rx_queue"] = base64.b64encode(self._queue[self._queue_pos:]).decode("ascii")
        return s

    def from_state(self, state: dict[str, Any]) -> None:
        """Restore ``state()`` output. Raises ValueError for a host queue that is not base64
        or is longer than RX_QUEUE_MAX."""
        try:
            queue = base64.b64decode(state.get("rx_queue", ""), validate=True)
        except (binascii.Error, TypeError) as err:
            raise ValueError(f"rx_queue is not base64: {err}") from None
        if len(queue) > self.RX_QUEUE_MAX:
            raise ValueError(f"rx_queue holds {len(queue)} bytes, at most {self.RX_QUEUE_MAX}")
        super().from_state(state)
        self._rx = deque(int(v) & 0xFFF for v in state.get("rx_fifo", [])[: self.FIFO_DEPTH])
        self._queue = bytearray(queue)
        self._queue_pos = 0
        self._take_queued()  # a no-op for a state() taken here: queued input waits for a reason
        self._update_irq()
