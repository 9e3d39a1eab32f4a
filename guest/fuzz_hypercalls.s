// fuzz_hypercalls: a tenant that throws pseudo-random calls at everything it can reach from EL1:
// HVC (SMCCC, PSCI and our vendor calls, known and unknown function IDs, with arguments that
// are random or point into our RAM, another tenant's RAM or nowhere), SMC, Arm semihosting
// (HLT #0xF000 with random operations and parameter blocks) and its console. The sequence comes
// from a xorshift64 generator seeded by `fuzz_seed`; `fuzz_count` is the number of calls. The
// fuzz suite (tests/fuzz/fz_tenant.py) patches both in the ELF for each case, runs this tenant
// beside a victim, and checks that the victim's transcript is what it is alone.
//
// Calls that would end this tenant on purpose (PSCI SYSTEM_OFF, SYSTEM_RESET, CPU_OFF) become
// PSCI_VERSION, so that one case runs all its calls. Exceptions taken at EL1 (an UNDEFINED HLT
// when semihosting is not ours) are counted and stepped over; a tenant the hypervisor contains
// simply stops, which is a clean end too.

.include "board.inc"
.include "smccc.inc"

.equ OTHER_TENANT_PA,   TENANT_PA_BASE      // tenant 0's RAM, not mapped in our stage 2
.equ NOWHERE_IPA,       0x7ff00000

.include "include/tenant.inc"             // _start: the stack, then main

main:
    ldr     x0, =fuzz_vectors
    msr     vbar_el1, x0
    isb
    adr     x0, str_start
    bl      puts
    ldr     x9, =fuzz_seed
    ldr     x19, [x9]
    cbnz    x19, seed_ok
    mov     x19, #1                         // xorshift must not start at 0
seed_ok:
    ldr     x9, =fuzz_count
    ldr     x20, [x9]
    mov     x21, #0                         // calls made
fuzz_loop:
    cmp     x21, x20
    b.hs    fuzz_done
    add     x21, x21, #1
    ldr     x9, =fuzz_manager
    ldr     x9, [x9]
    cbz     x9, fuzz_any
    bl      random
    tbnz    x0, #0, do_manager              // as the manager: half the calls are its own
fuzz_any:
    bl      random
    and     x9, x0, #7
    cmp     x9, #3
    b.lo    do_hvc
    b.eq    do_hlt
    cmp     x9, #4
    b.eq    do_smc
    cmp     x9, #5
    b.eq    do_console
    b       do_vendor

// HVC with a function ID: one of ours (x0 bits 9:8 == 0), a PSCI/standard one, a vendor one, or
// any 32 bits.
do_hvc:
    bl      random
    mov     x22, x0
    and     x9, x22, #3
    cmp     x9, #1
    b.lo    hvc_known
    b.eq    hvc_standard
    cmp     x9, #2
    b.eq    hvc_vendor
    mov     w23, w22                        // any 32 bits
    b       hvc_args
hvc_known:
    lsr     x9, x22, #8
    and     x9, x9, #7
    adr     x10, known_ids
    ldr     w23, [x10, x9, lsl #2]
    b       hvc_args
hvc_standard:
    lsr     x9, x22, #8
    and     x9, x9, #0x7f                   // PSCI 0x00-0x1f, FF-A 0x60-0x6d
    ldr     w23, =0x84000000
    orr     w23, w23, w9
    b       hvc_args
hvc_vendor:
    lsr     x9, x22, #8
    and     x9, x9, #0x1f                   // ours are 0x86000001-0x86000014
    ldr     w23, =0x86000000
    orr     w23, w23, w9
hvc_args:
    bl      tame_id
    bl      random_args
    mov     w0, w23
    hvc     #0
    b       fuzz_loop

// do_manager: a manager call (HYP_PART_INFO 0x86000010 .. HYP_PART_REGION 0x8600001c) with the
// arguments of its shape, each field sometimes random instead. Only when fuzz_manager is set (the
// fuzz suite patches it for a fuzzer that is the manifest's manager: tests/fuzz/fz_manager.py).
do_manager:
    bl      random
    mov     x22, x0
    and     x9, x22, #0xf
    cmp     x9, #0xc
    b.hi    fuzz_loop                       // 13-15: none this time
    ldr     w23, =HYP_PART_INFO
    add     w23, w23, w9
    bl      random_args
    lsr     x9, x22, #4
    and     x9, x9, #3
    cbz     x9, do_manager_call             // a quarter: the arguments as random_args made them
    and     x1, x1, #3                      // tenant (or with HYP_SPI_MOVE, below, an SPI)
    and     x2, x2, #7
    lsl     x2, x2, #21
    ldr     x10, =TENANT_IPA_BASE
    add     x2, x2, x10                     // IPA (or a core: HYP_CORE_GRANT looks at its low bits)
    and     x3, x3, #3
    add     x3, x3, #1
    lsl     x3, x3, #21                     // bytes (or microseconds)
    ldr     w9, =HYP_SPI_MOVE
    cmp     w23, w9
    b.ne    do_manager_call
    add     x1, x1, #48                     // an SPI a manifest may give
    and     x2, x2, #3
do_manager_call:
    mov     w0, w23
    hvc     #0
    b       fuzz_loop

// HYP_CONSOLE_WRITE and HYP_CONSOLE_PUTC with pointers and lengths near the edges.
do_vendor:
    bl      random_args
    bl      random
    tst     x0, #1
    b.eq    vendor_write
    ldr     w0, =HYP_CONSOLE_PUTC
    and     x1, x1, #0x7f
    cmp     x1, #0x20
    b.hs    vendor_putc
    mov     x1, #0x2e                       // '.'
vendor_putc:
    hvc     #0
    b       fuzz_loop
vendor_write:
    and     x2, x2, #0xff                   // short lengths, so a valid buffer prints briefly
    ldr     w0, =HYP_CONSOLE_WRITE
    hvc     #0
    b       fuzz_loop

// Semihosting: a random operation 0..63 with a random parameter block pointer.
do_hlt:
    bl      random_args
    bl      random
    and     x0, x0, #0x3f
    hlt     #0xf000
    b       fuzz_loop

do_smc:
    bl      random
    mov     w23, w0
    bl      tame_id
    bl      random_args
    mov     w0, w23
    smc     #0
    b       fuzz_loop

// A printable byte or a newline to our own console.
do_console:
    bl      random
    and     x0, x0, #0x7f
    cmp     x0, #0x20
    b.hs    console_put
    mov     x0, #0x0a
console_put:
    bl      putc
    b       fuzz_loop

fuzz_done:
    adr     x0, str_done
    bl      puts
    mov     x0, x21
    bl      put_dec
    adr     x0, str_exceptions
    bl      puts
    ldr     x9, =exception_count
    ldr     x0, [x9]
    bl      put_dec
    bl      newline
    b       system_off

// random: x0 = the next xorshift64 value of x19. Clobbers x9.
random:
    eor     x19, x19, x19, lsl #13
    eor     x19, x19, x19, lsr #7
    eor     x19, x19, x19, lsl #17
    mov     x0, x19
    ret

// tame_id: w23 = function ID; the ones that end this tenant on purpose become PSCI_VERSION.
tame_id:
    ldr     w9, =PSCI_SYSTEM_OFF
    cmp     w23, w9
    b.eq    tame_it
    ldr     w9, =PSCI_SYSTEM_RESET
    cmp     w23, w9
    b.eq    tame_it
    ldr     w9, =PSCI_CPU_OFF
    cmp     w23, w9
    b.eq    tame_it
    ret
tame_it:
    ldr     w23, =PSCI_VERSION
    ret

// random_args: x1-x7 random; x1 and x2 are often addresses in our RAM, in another tenant's RAM
// or where nothing is mapped, or arguments a manager's call would take (a tenant index, a 2 MiB
// aligned IPA, a size in blocks; an SPI and a tenant). Clobbers x0, x9-x11.
random_args:
    stp     x29, x30, [sp, #-16]!
    bl      random
    mov     x1, x0
    bl      random
    mov     x2, x0
    bl      random
    mov     x3, x0
    bl      random
    mov     x4, x0
    bl      random
    mov     x5, x0
    bl      random
    mov     x6, x0
    bl      random
    mov     x7, x0
    and     x9, x0, #7
    cmp     x9, #1
    b.lo    args_own
    b.eq    args_other
    cmp     x9, #2
    b.eq    args_nowhere
    cmp     x9, #3
    b.eq    args_manager
    cmp     x9, #4
    b.eq    args_spi
    b       args_done
args_manager:                               // tenant, IPA, size: HYP_MEM_GRANT's shape
    and     x1, x1, #3
    and     x2, x2, #7
    lsl     x2, x2, #21
    ldr     x10, =TENANT_IPA_BASE
    add     x2, x2, x10
    and     x3, x3, #3
    add     x3, x3, #1
    lsl     x3, x3, #21
    b       args_done
args_spi:                                   // an SPI and a tenant: HYP_SPI_MOVE's shape
    and     x1, x1, #63
    add     x1, x1, #32
    and     x2, x2, #3
    b       args_done
args_own:
    and     x1, x1, #0x1ffff8
    ldr     x10, =TENANT_IPA_BASE
    add     x1, x1, x10
    and     x2, x2, #0x3ff
    b       args_done
args_other:
    and     x1, x1, #0xfff8
    ldr     x10, =OTHER_TENANT_PA
    add     x1, x1, x10
    b       args_done
args_nowhere:
    ldr     x1, =NOWHERE_IPA
args_done:
    ldp     x29, x30, [sp], #16
    ret

// Any synchronous exception at EL1: count it and step over the instruction.
fuzz_sync:
    stp     x9, x10, [sp, #-16]!
    ldr     x9, =exception_count
    ldr     x10, [x9]
    add     x10, x10, #1
    str     x10, [x9]
    mrs     x9, elr_el1
    add     x9, x9, #4
    msr     elr_el1, x9
    ldp     x9, x10, [sp], #16
    eret
fuzz_unexpected:
    adr     x0, str_unexpected
    bl      puts
    b       system_off

    .balign 0x800
fuzz_vectors:
    .rept 4
    .balign 0x80
    b       fuzz_unexpected
    .endr
    .balign 0x80
    b       fuzz_sync                       // synchronous, current EL with SP_ELx
    .rept 11
    .balign 0x80
    b       fuzz_unexpected
    .endr

    .balign 4
known_ids:
    .word   SMCCC_VERSION, PSCI_VERSION, HYP_YIELD, HYP_CONSOLE_WRITE
    .word   HYP_TENANT_ID, 0xc4000003, FFA_MSG_SEND2, FFA_RXTX_MAP_64

str_start:              .asciz "fuzzing\n"
str_done:               .asciz "\ncalls made: "
str_exceptions:         .asciz ", exceptions taken: "
str_unexpected:         .asciz "\nunexpected asynchronous exception\n"
    .balign 8
fuzz_seed:              .quad 0x2545f4914f6cdd1d
fuzz_manager:           .quad 0                 // 1: half the calls are a manager's (do_manager)
fuzz_count:             .quad 200
exception_count:        .quad 0

.include "include/tenant_bss.inc"         // literals, __bss_start, the stack
