// message: an FF-A message round trip between two tenants, once an iteration (FF-A v1.1 partition
// messages, docs/dynamic.md "Messages between VMs"). Both tenants of manifests/iso_message_tenant.toml
// run this image; FFA_ID_GET tells them apart. The pinger (vm 1, tenant "message") puts the
// iteration's countdown k in a page-sized message (0x20 bytes of header, PAYLOAD_BYTES of payload)
// and sends it to the ponger (vm 2) with FFA_MSG_SEND2; the ponger answers 3k + 1 the same way.
// Each waits for the other's message in WFI: FFA_MSG_SEND2 pends the receiver's HYP_EVENT_INTID,
// which it acknowledges and ends through its GIC CPU interface (with IRQs masked: no vector table),
// then reads its RX page and gives it back with FFA_RX_RELEASE. There is no primary and no time
// slice, so each WFI hands the core to the other tenant: two tenant switches an iteration.
//
// Bare there is no other partition and no hypervisor: the same two messages, composed in the same
// places, are each copied from the sender's TX page to the receiver's RX page by a plain LDP/STP
// memcpy, in one address space, as two threads sharing memory would pass them.
//
// The result is the sum of the answers, sum(3k + 1) for k = 1..N, with bit 63 set if any call
// returned other than FFA_SUCCESS or a message came from the wrong sender.
.include "iso.inc"
.include "gic.inc"

.equ PING_VM,           1
.equ PONG_VM,           2
.equ TX_IPA,            TENANT_IPA_BASE + 0x1fc000      // each tenant's own, in its 2 MiB
.equ RX_IPA,            TENANT_IPA_BASE + 0x1fd000
.equ PONG_TX,           TENANT_IPA_BASE + 0x1fe000      // bare: the ponger's, beside the pinger's
.equ PONG_RX,           TENANT_IPA_BASE + 0x1ff000
.equ PAYLOAD,           0x20
.equ MESSAGE_BYTES,     0x1000                          // header and payload: the whole page
.equ PAYLOAD_BYTES,     MESSAGE_BYTES - PAYLOAD
.equ EVENT_PRIORITY,    0x80
.equ ERROR_BIT,         63

main:
    mov     x22, #0                         // the sum of the answers
    mov     x23, #0                         // what went wrong
    cbnz    x20, bare_side
    ldr     w0, =FFA_ID_GET
    hvc     #0
    mov     x21, x2                         // our vm_id
    ldr     w0, =FFA_RXTX_MAP
    ldr     x1, =TX_IPA
    ldr     x2, =RX_IPA
    mov     x3, #1
    hvc     #0
    bl      check_success
    // The GIC: HYP_EVENT_INTID enabled, for WFI to wake on; PSTATE.I stays masked.
    ldr     x9, =GICD_BASE
    mov     w10, #GICD_CTLR_ENABLE
    str     w10, [x9, #GICD_CTLR]
    mov     w10, #EVENT_PRIORITY
    strb    w10, [x9, #(GICD_IPRIORITYR + HYP_EVENT_INTID)]
    mov     w10, #(1 << HYP_EVENT_INTID)
    str     w10, [x9, #GICD_ISENABLER]
    ldr     x9, =GICC_BASE
    mov     w10, #0xf0
    str     w10, [x9, #GICC_PMR]
    mov     w10, #GICC_CTLR_ENABLE
    str     w10, [x9, #GICC_CTLR]
    cmp     x21, #PING_VM
    b.ne    pong

// The pinger: waits for the ponger's "ready" (its buffers are mapped), then N round trips.
ping:
    ldr     x0, =TX_IPA
    mov     x1, #PONG_VM
    mov     x2, #PING_VM
    bl      write_header
    bl      receive
ping_loop:
    ldr     x9, =TX_IPA
    str     x19, [x9, #PAYLOAD]             // k
    ldr     w0, =FFA_MSG_SEND2
    hvc     #0
    bl      check_success
    bl      receive
    add     x22, x22, x0
    subs    x19, x19, #1
    b.ne    ping_loop
    b       finish

// The ponger: "ready" once the pinger can receive (FFA_MSG_SEND2 refuses a receiver with no RX
// buffer: then let it run, and again), then answers each k with 3k + 1, until k = 1.
pong:
    ldr     x0, =TX_IPA
    mov     x1, #PING_VM
    mov     x2, #PONG_VM
    bl      write_header
pong_ready:
    ldr     w0, =FFA_MSG_SEND2
    hvc     #0
    ldr     w9, =FFA_SUCCESS
    cmp     w0, w9
    b.eq    pong_loop
    ldr     w0, =HYP_YIELD
    hvc     #0
    b       pong_ready
pong_loop:
    bl      receive
    mov     x24, x0
    add     x1, x0, x0, lsl #1
    add     x1, x1, #1
    ldr     x9, =TX_IPA
    str     x1, [x9, #PAYLOAD]
    ldr     w0, =FFA_MSG_SEND2
    hvc     #0
    bl      check_success
    cmp     x24, #1
    b.ne    pong_loop
    b       finish

// receive: waits for HYP_EVENT_INTID (WFI, then GICC_IAR and GICC_EOIR), takes the payload's first
// doubleword from the RX page, checks its sender, and releases the page. x0 = that doubleword.
receive:
    mov     x25, x30
    ldr     x9, =GICC_BASE
receive_wait:
    wfi
    ldr     w10, [x9, #GICC_IAR]
    and     w11, w10, #GICH_LR_VIRTUALID_MASK
    cmp     w11, #GIC_SPURIOUS
    b.eq    receive_wait
    str     w10, [x9, #GICC_EOIR]
    cmp     w11, #HYP_EVENT_INTID
    b.ne    receive_wait
    ldr     x9, =RX_IPA
    ldrh    w10, [x9, #FFA_MSG_SENDER]
    eor     x11, x21, #(PING_VM ^ PONG_VM)  // the other one
    cmp     x10, x11
    b.eq    receive_release
    orr     x23, x23, #(1 << ERROR_BIT)
receive_release:
    ldr     x26, [x9, #PAYLOAD]
    ldr     w0, =FFA_RX_RELEASE
    hvc     #0
    bl      check_success
    mov     x0, x26
    ret     x25

// check_success: x0 = what a call returned; anything but FFA_SUCCESS is an error. Clobbers x9.
check_success:
    ldr     w9, =FFA_SUCCESS
    cmp     w0, w9
    b.eq    check_success_done
    orr     x23, x23, #(1 << ERROR_BIT)
check_success_done:
    ret

// write_header: x0 = a TX page, x1 = the receiver's vm_id, x2 = the sender's. A partition message
// of PAYLOAD_BYTES at PAYLOAD. Clobbers x9.
write_header:
    str     xzr, [x0]                       // flags, reserved
    mov     w9, #PAYLOAD
    str     w9, [x0, #FFA_MSG_OFFSET]
    strh    w1, [x0, #FFA_MSG_RECEIVER]
    strh    w2, [x0, #FFA_MSG_SENDER]
    ldr     w9, =PAYLOAD_BYTES
    str     w9, [x0, #FFA_MSG_SIZE]
    ret

finish:
    orr     x0, x22, x23
    b       iso_end

// Bare: the same messages, each copied page to page by copy_message.
bare_side:
    ldr     x0, =TX_IPA
    mov     x1, #PONG_VM
    mov     x2, #PING_VM
    bl      write_header
    ldr     x0, =PONG_TX
    mov     x1, #PING_VM
    mov     x2, #PONG_VM
    bl      write_header
bare_loop:
    ldr     x0, =TX_IPA
    str     x19, [x0, #PAYLOAD]             // k
    ldr     x1, =PONG_RX
    bl      copy_message
    ldr     x9, =PONG_RX
    ldr     x10, [x9, #PAYLOAD]
    add     x10, x10, x10, lsl #1
    add     x10, x10, #1
    ldr     x0, =PONG_TX
    str     x10, [x0, #PAYLOAD]
    ldr     x1, =RX_IPA
    bl      copy_message
    ldr     x9, =RX_IPA
    ldr     x10, [x9, #PAYLOAD]
    add     x22, x22, x10
    subs    x19, x19, #1
    b.ne    bare_loop
    b       finish

// copy_message: x0 = source page, x1 = destination page; MESSAGE_BYTES with LDP/STP, 64 a turn.
// Clobbers x0-x12.
copy_message:
    mov     x2, #(MESSAGE_BYTES / 64)
    COPY_LINES copy_message_line
    ret

.include "iso_end.inc"
