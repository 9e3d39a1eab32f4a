// attacker_console: tries to keep the core through one long hypercall. HYP_CONSOLE_WRITE accepts
// any buffer inside the caller's RAM and the hypervisor emits it at EL2, where neither the time
// slice nor the watchdog can end a tenant's turn. So this tenant fills all of its RAM after its
// own image (nearly 2 MiB) with '\r', which the console drops (no output, no line flushes: pure
// EL2 time, about 20 ms a call were the whole buffer written), and passes that buffer again and
// again for ATTACK_MS of virtual time. The hypervisor writes at most HYP_CONSOLE_WRITE_MAX bytes
// a call (smccc.inc), so the tenant beside it keeps getting the core on time.
//
// First one call shows the cap: the buffer's first HYP_CONSOLE_WRITE_MAX bytes end with a visible
// line, the bytes after them start a BREACH line that must never print, and the call's x0 is
// printed. Then the flood, which checks that every call returned the cap.

.include "board.inc"
.include "smccc.inc"

.equ RAM_SIZE,          0x200000            // memory in manifests/attack_console.toml
.equ ATTACK_MS,         20
.equ CR_BYTES,          0x0d0d0d0d0d0d0d0d  // '\r' eight times
.equ PAGE_MASK,         0xfff

.include "include/tenant.inc"             // _start: the stack, then main

main:
    adr     x0, str_about
    bl      puts
    // The buffer: from the page after our image (its end is stack_top) to the end of our RAM.
    ldr     x19, =stack_top
    add     x19, x19, #PAGE_MASK
    and     x19, x19, #~PAGE_MASK           // x19 = buffer IPA
    ldr     x21, =TENANT_IPA_BASE + RAM_SIZE
    sub     x20, x21, x19                   // x20 = buffer length
    ldr     x9, =CR_BYTES
    mov     x10, x19
fill:
    stp     x9, x9, [x10], #16
    cmp     x10, x21
    b.lo    fill

    // The visible line ends at byte HYP_CONSOLE_WRITE_MAX - 1; the BREACH line starts right after.
    add     x0, x19, #HYP_CONSOLE_WRITE_MAX
    adr     x1, str_last
    adr     x2, str_last_end
    sub     x3, x2, x1
    sub     x0, x0, x3
    bl      copy_bytes
    add     x0, x19, #HYP_CONSOLE_WRITE_MAX
    adr     x1, str_breach
    adr     x2, str_breach_end
    sub     x3, x2, x1
    bl      copy_bytes
    ldr     w0, =HYP_CONSOLE_WRITE
    mov     x1, x19
    mov     x2, x20
    bl      hvc_call
    mov     x22, x0
    adr     x0, str_call
    bl      puts
    mov     x0, x20
    bl      put_dec
    adr     x0, str_returned
    bl      puts
    mov     x0, x22
    bl      put_dec
    bl      newline

    // Back to '\r' only: from here on the flood prints nothing.
    ldr     x9, =CR_BYTES
    mov     x10, x19
    add     x11, x19, #(2 * HYP_CONSOLE_WRITE_MAX)
wipe:
    stp     x9, x9, [x10], #16
    cmp     x10, x11
    b.lo    wipe

    adr     x0, str_flooding
    bl      puts
    mrs     x9, cntfrq_el0                  // deadline: ATTACK_MS from now, in counter ticks
    mov     x10, #1000
    udiv    x9, x9, x10
    mov     x10, #ATTACK_MS
    mul     x23, x9, x10
    isb
    mrs     x9, cntvct_el0
    add     x23, x23, x9
    mov     x24, #0                         // calls that did not return the cap
    mov     x25, #0                         // what the last of them returned
flood:
    ldr     w0, =HYP_CONSOLE_WRITE
    mov     x1, x19
    mov     x2, x20
    bl      hvc_call
    cmp     x0, #HYP_CONSOLE_WRITE_MAX
    b.eq    flood_next
    add     x24, x24, #1
    mov     x25, x0
flood_next:
    isb
    mrs     x9, cntvct_el0
    cmp     x9, x23
    b.lo    flood
    cbnz    x24, flood_uncapped
    adr     x0, str_capped
    bl      puts
    mov     x0, #HYP_CONSOLE_WRITE_MAX
    bl      put_dec
    bl      newline
    b       system_off
flood_uncapped:
    adr     x0, str_uncapped
    bl      puts
    mov     x0, x24
    bl      put_dec
    adr     x0, str_last_returned
    bl      puts
    mov     x0, x25
    bl      put_dec
    bl      newline
    b       system_off

// copy_bytes: x0 = destination, x1 = source, x3 = bytes.
copy_bytes:
    cbz     x3, copy_bytes_done
    ldrb    w9, [x1], #1
    strb    w9, [x0], #1
    sub     x3, x3, #1
    b       copy_bytes
copy_bytes_done:
    ret

str_about:              .asciz "writing all of my RAM to the console, one HYP_CONSOLE_WRITE after another\n"
str_last:               .ascii "the bytes up to the cap end with this line\n"
str_last_end:
str_breach:             .ascii "BREACH: a byte past the cap was written\n"
str_breach_end:
str_call:               .asciz "HYP_CONSOLE_WRITE of "
str_returned:           .asciz " bytes returned "
str_flooding:           .asciz "flooding the console with it for 20 ms\n"
str_capped:             .asciz "flood over: every call returned "
str_uncapped:           .asciz "flood over: calls that did not return the cap: "
str_last_returned:      .asciz ", the last returned "

.include "include/tenant_bss.inc"         // literals, __bss_start, the stack
