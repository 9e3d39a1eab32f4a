// counter: counts 1..COUNT_TO, giving the core away after each line, then powers off.
// Its lines interleave with the other tenants' to show the round-robin schedule.

.include "board.inc"
.include "smccc.inc"

.equ COUNT_TO,          5

.include "include/tenant.inc"             // _start: the stack, then main

main:
    mov     x19, #1
count_loop:
    adr     x0, str_count
    bl      puts
    mov     x0, x19
    bl      put_dec
    bl      newline
    bl      yield
    add     x19, x19, #1
    cmp     x19, #COUNT_TO
    b.ls    count_loop
    adr     x0, str_done
    bl      puts
    b       system_off

str_count:              .asciz "count "
str_done:               .asciz "done\n"

.include "include/tenant_bss.inc"         // literals, __bss_start, the stack
