// rogue: a secondary of manifests/primary.toml that never gives the core back. It spins for about
// 15 ms of virtual time (the primary's timer cuts its first run short), then reads another
// tenant's RAM: contained, and the primary's FFA_RUN returns FFA_ERROR(ABORTED).

.include "board.inc"
.include "smccc.inc"

.equ SPINS,             5000000
.equ OTHER_RAM,         TENANT_PA_BASE      // tenant 0's RAM, a PA no stage 2 of ours maps

.include "../include/tenant.inc"

main:
    ldr     w0, =FFA_RUN                    // run alpha itself: only the primary may
    mov     x1, #(2 << 16)
    hvc     #0
    ldr     w9, =FFA_ERROR
    cmp     w0, w9
    b.ne    main_ran
    adr     x0, str_refused
    bl      puts
    mov     x0, x2
    neg     x0, x0
    bl      put_dec
    bl      newline
main_ran:
    adr     x0, str_spinning
    bl      puts
    ldr     x9, =SPINS
spin:
    subs    x9, x9, #1
    b.ne    spin
    adr     x0, str_reading
    bl      puts
    ldr     x9, =OTHER_RAM
read_other:
    ldr     x0, [x9]
    adr     x0, str_read
    bl      puts
    b       system_off

str_refused:        .asciz "FFA_RUN of vm 2: error -"
str_spinning:       .asciz "spinning, never yielding\n"
str_reading:        .asciz "reading another tenant's RAM\n"
str_read:           .asciz "read it\n"
    .balign 4

.include "../include/tenant_bss.inc"
