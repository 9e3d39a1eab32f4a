// wfe_spinlock: four cores share a counter under a spinlock that waits with WFE.
//
// Run with four cores at EL2 (QEMU: -smp 4; emu: --smp 4). The lock is Linux's arm64 shape
// before LSE atomics: take it with LDAXR/STXR, and while it is held wait with SEVL and WFE
// (a store that clears this core's exclusive monitor wakes it); release it with STLR, which
// on Arm needs no SEV for waiters that monitor the lock word. Inside the lock each core adds 1
// to the counter with a plain load and store, LOCKED_ADDS times, so a lock that let two cores
// in at once would lose increments. Core 0 holds the lock until every secondary has found it
// taken (so each of them waits with WFE at least once), and prints the total once every core
// is done.

.include "smp.inc"

.equ CORES,                 4
.equ LOCKED_ADDS,           3000

_start:
    ldr     x0, =STACK_TOP
    mov     sp, x0
    adr     x1, msg_header
    bl      puts
    adr     x20, lock
    mov     x24, #1                         // core 0 does not count itself as a waiter
    bl      lock_take
    adr     x0, secondary
    mov     x1, #CORES
    bl      start_cores
    adr     x0, waiters
wait_waiters:
    ldar    w1, [x0]
    cmp     w1, #(CORES - 1)
    b.ne    wait_waiters
    stlr    wzr, [x20]                      // release: the secondaries go in one by one
    bl      work
    adr     x20, done
wait_done:
    ldar    w0, [x20]
    cmp     w0, #CORES
    b.ne    wait_done
    adr     x0, counter
    ldr     x0, [x0]
    adr     x1, msg_count
    bl      print_named
    adr     x0, waiters
    ldr     w0, [x0]
    adr     x1, msg_waited
    bl      print_named
    adr     x1, exit_block
    mov     w0, #SEMIHOST_SYS_EXIT
    hlt     #0xf000
    b       .

secondary:
    mrs     x0, MPIDR_EL1
    and     x0, x0, #0xff
    ldr     x1, =STACK_TOP
    sub     x1, x1, x0, lsl #12
    mov     sp, x1
    mov     x24, #0                         // not yet counted as a waiter
    bl      work
    ldr     x0, =PSCI_CPU_OFF
    smc     #0
    b       .

// LOCKED_ADDS times: take the lock, add 1 to the counter with a plain load and store,
// release the lock. Then one more core is done.
work:
    mov     x23, x30
    ldr     x21, =LOCKED_ADDS
    adr     x20, lock
work_loop:
    bl      lock_take
    adr     x0, counter
    ldr     x1, [x0]
    add     x1, x1, #1
    str     x1, [x0]
    stlr    wzr, [x20]                      // release
    subs    x21, x21, #1
    b.ne    work_loop
    adr     x0, done
    bl      atomic_inc
    ret     x23

// Take the lock at x20. The first time a core finds it taken (x24 = 0) it counts itself
// in `waiters` and sets x24. Clobbers x0-x2.
lock_take:
    mov     w2, #1
    sevl                                    // the first WFE falls through
lock_wait:
    wfe
lock_try:
    ldaxr   w0, [x20]
    cbnz    w0, lock_busy
    stxr    w1, w2, [x20]
    cbnz    w1, lock_try
    ret
lock_busy:
    cbnz    x24, lock_wait
    mov     x24, #1
    mov     x25, x30
    adr     x0, waiters
    bl      atomic_inc
    mov     x30, x25
    mov     w2, #1
    b       lock_wait

.include "smp_lib.inc"

msg_header: .asciz "wfe_spinlock: four cores, a LDAXR/STXR lock with WFE, plain adds inside\n"
msg_count:  .asciz "counter="
msg_waited: .asciz "secondaries that found the lock taken: "

    .balign 8
exit_block:
    .quad   ADP_Stopped_ApplicationExit, 0
    .balign 64
lock:       .word 0
    .balign 64
counter:    .quad 0
    .balign 64
done:       .word 0
    .balign 64
waiters:    .word 0
