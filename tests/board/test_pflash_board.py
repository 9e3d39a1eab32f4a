"""The virt board's CFI flash in the machine: code runs from a bank in read-array mode, a
command remaps it as the device (CFI query, status) and 0xFF maps it back, and the stores
that carry the commands never reach the array."""

import struct

from conftest import boot



def test_query_then_read_array_then_run_from_flash(asm_image):
    img = asm_image("""
_start:
    mov     x1, #0x0                    // bank 0, where a loop was put at 0x1000
    mov     w0, #0x98
    str     w0, [x1, #0x154]            // CFI query
    ldr     w2, [x1, #0x40]             // 'Q' in both x16 devices
    mov     w0, #0xff
    add     x5, x1, #0x1000
    stp     w0, w0, [x5]                // read array (twice: the second half of a pair too)
    ldr     w3, [x1, #0x1000]           // the array again
    mov     x4, #0x1000
    br      x4
""")
    m, result, _ = _boot_with_flash_code(img)
    assert result.reason == "instruction limit", result
    assert m.cpu.pc == 0x1000
    assert m.uc.reg_read(_x(2)) == 0x00510051
    assert m.uc.reg_read(_x(3)) == 0x14000000     # b . : the stores did not land in the array
    assert m.rom_banks[0].device.romd and m.rom_banks[0].memory[0]  # code runs from the array
    assert bytes(m.rom_banks[0].backing[0x154:0x158]) == bytes(4)


def test_program_goes_to_the_array_and_status_reads_until_read_array(asm_image):
    img = asm_image("""
_start:
    ldr     x1, =0x04000000             // bank 1
    mov     w0, #0x40
    str     w0, [x1, #0x100]
    ldr     w0, =0x12345678
    str     w0, [x1, #0x100]            // word program
    ldr     w2, [x1, #0x100]            // status: ready in both devices
    mov     w0, #0xff
    str     w0, [x1]
    ldr     w3, [x1, #0x100]
    b       .
""")
    m, result, _ = boot(img, max_insns=100)
    assert result.reason == "instruction limit", result
    assert m.uc.reg_read(_x(2)) == 0x00800080
    assert m.uc.reg_read(_x(3)) == 0x12345678
    assert bytes(m.rom_banks[1].backing[0:4]) == bytes(4)


def _x(n):
    from unicorn.arm64_const import UC_ARM64_REG_X0
    return UC_ARM64_REG_X0 + n


def _boot_with_flash_code(img):
    import io

    from emu.machine import Console, Machine

    m = Machine(console=Console(io.BytesIO(), echo=False), log=io.StringIO())
    m.load(img)
    m.write_phys(0x1000, struct.pack("<I", 0x14000000))  # b .
    return m, m.run(max_insns=100), None




def test_flash_in_query_mode_is_mmio_everywhere_and_debug_reads_see_the_array(asm_image):
    img = asm_image("""
_start:
    mov     x1, #0x0
    mov     x4, #0x200000
    ldr     w2, [x4]                    // the array, read in the third window: mapped as memory
    mov     w0, #0x98
    str     w0, [x1, #0x154]            // CFI query: every window must answer as the device
    ldr     w3, [x4, #0x40]             // the device (query data past the table: 0), not the array
    b       .
""")
    import io

    from emu.machine import Console, Machine

    m = Machine(console=Console(io.BytesIO(), echo=False), log=io.StringIO())
    m.load(img)
    m.write_phys(0x200000, b"\x11\x22\x33\x44")
    m.write_phys(0x200040, b"\x55\x66\x77\x88")
    result = m.run(max_insns=100)
    assert result.reason == "instruction limit", result
    bank = m.rom_banks[0]
    assert m.uc.reg_read(_x(2)) == 0x44332211
    assert m.uc.reg_read(_x(3)) == 0
    assert not bank.device.romd and not any(bank.memory)
    assert m.read_phys(0x200040, 4) == b"\x55\x66\x77\x88"   # a debugger reads the array
