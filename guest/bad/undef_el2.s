// undef_el2: deliberately broken. UDF #0 at EL2 with VBAR_EL2 pointing at a vector
// table in RAM whose every slot is itself UDF #0: the synchronous exception enters
// VBAR_EL2 + 0x200 (current EL, SP_ELx), which raises the same exception again, with
// ESR_EL2 = 0x02000000 and ELR_EL2 = VBAR_EL2 + 0x200 from the second entry on.
// QEMU loops forever; an emulator must detect the loop and stop with a diagnostic.

    .include "board.inc"

_start:
    adr     x1, msg_undef
    bl      bad_puts
    adr     x0, udf_vectors
    msr     VBAR_EL2, x0
    isb
    .word   0x00000000                      // udf #0 (Keystone: no `udf`, drops `.inst`)
undef_el2_hang:
    b       undef_el2_hang

    .include "bad_puts.inc"

msg_undef:
    .asciz  "undef_el2: udf #0 at EL2, every vector slot is udf #0\n"

    // VBAR_EL2 needs 2 KiB alignment; 16 slots of 0x80 bytes = 512 words.
    .balign 0x800
udf_vectors:
    .rept   512
    .word   0x00000000
    .endr
