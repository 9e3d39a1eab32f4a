// Thin hypervisor v2: gives each tenant of the manifest an isolated EL1 partition, with its own
// cores, interrupts and virtual timers.
//
// Boot at EL2 on the boot core, MMU off at EL2 (the hypervisor uses physical addresses); the other
// cores the manifest gives tenants are started through PSCI and wait for the boot core
// (hyp_smp.inc). For each tenant: stage-2 tables mapping its RAM (and its GICC view onto GICV once
// the virtual GIC is up), a VMID, and one vCPU per core it is given, each with a saved context,
// virtual timer and virtual CPU interface. Each core runs the vCPUs pinned to it in turn (round
// robin; preemptive when the manifest sets a time slice, otherwise cooperative with a watchdog that
// preempts a vCPU holding the core too long) and they trap to us for:
//   HVC          SMCCC / PSCI / vendor hypervisor calls    (hyp_traps.inc, PSCI CPU_ON: hyp_smp.inc)
//   WFI          waits for a virtual interrupt; WFE yields           (hyp_traps.inc)
//   SMC          not supported, skipped                              (hyp_traps.inc)
//   stage-2 data abort on the console page: PL011 emulated           (hyp_traps.inc)
//   SMMU events: a tenant's DMA refused, the tenant contained         (hyp_toe.inc)
//   stage-2 data abort on the GICD page: virtual distributor         (hyp_vgicd.inc)
//   physical IRQs: forwarded to their owner through list registers   (hyp_gic.inc)
//   CNTHP, INTID 26: the end of a time slice, or the watchdog         (hyp_sched.inc)
//   any other stage-2 fault or exception: the tenant is contained    (hyp_traps.inc)
// When no vCPU can run on any core, exit through Arm semihosting with the number of contained
// tenants. The banner names the version (HYP_VERSION): v1 added interrupts, the virtual GIC and
// timers; v2 adds cores: tenants pinned to cores, several vCPUs a tenant, virtual SGIs between them.
//
// Image layout (flat, assembled at HYP_BASE): _start, vectors (0x800 aligned), code, data.

.include "board.inc"
.include "smccc.inc"
.include "manifest.inc"
.include "gic.inc"
.include "toe.inc"
.include "smmu.inc"
.include "hyp_defs.inc"
.include "hyp_frame.inc"

_start:
    // Exceptions stay masked at EL2: the hypervisor takes traps and interrupts from tenants,
    // and IRQs at EL2 only while it idles (hyp_idle), never one while it works.
    bl      core_enter_el2
    b       hyp_main

.include "hyp_vectors.inc"

// hyp_main: validate the manifest, set up the EL2 controls and every tenant, start the other cores,
// and run the first vCPU pinned to this one.
hyp_main:
    mrs     x0, CurrentEL
    cmp     x0, #(2 << 2)
    b.eq    hyp_main_at_el2
    adr     x0, str_not_el2
    bl      uart_puts
    mov     x0, #EXIT_NOT_EL2
    b       hyp_exit
hyp_main_at_el2:
    bl      hyp_lock                        // held until the first tenant runs: the other cores wait
    bl      manifest_validate
    cbz     x0, hyp_main_manifest_ok
    adr     x0, str_bad_manifest
    bl      uart_puts
    mov     x0, #EXIT_BAD_MANIFEST
    b       hyp_exit
hyp_main_manifest_ok:
    bl      el2_setup
    bl      pool_init
    bl      banner_print
    ldr     x0, =MANIFEST_PA
    ldr     w19, [x0, #MF_TENANT_COUNT]
    ldr     x9, =tenant_count
    str     x19, [x9]
    mov     x20, #0
hyp_main_tenant_loop:
    mov     x0, x20
    bl      tenant_init
    add     x20, x20, #1
    cmp     x20, x19
    b.lo    hyp_main_tenant_loop
    bl      stage2_pool_clean
    bl      ffa_init                        // a primary that schedules, if the manifest has one
    bl      route_init                      // the console's input to its tenant, if one asks
    // Every system needs the hypervisor's own timer interrupt from the first ERET on: it ends time
    // slices, and it is the watchdog of a cooperative system (hyp_sched.inc).
    bl      gic_init
    bl      gic_cpu_init
    bl      toe_init                        // the SMMU and the TOE, if any tenant has sessions
    bl      watchdog_init
    // A time slice or SPIs given to tenants need the tenants' interrupts from the start; otherwise
    // they are brought up when a tenant first touches its interrupt controller.
    ldr     x0, =MANIFEST_PA
    ldr     x1, [x0, #MF_QUANTUM]
    ldr     x9, =quantum_ticks
    str     x1, [x9]
    cbnz    x1, hyp_main_vgic
    ldr     x9, =tenants
    mov     x10, #0
    mov     x11, x19
hyp_main_spis:
    ldr     x12, [x9, #TN_SPIS]
    orr     x10, x10, x12
    add     x9, x9, #TENANT_STRIDE
    subs    x11, x11, #1
    b.ne    hyp_main_spis
    cbz     x10, hyp_main_run
hyp_main_vgic:
    bl      vgic_bring_up
hyp_main_run:
    // VMIDs 1..MAX_TENANTS have never been used: drop whatever the TLBs hold for EL1&0
    // and EL2 before the first tenant runs.
    tlbi    alle1
    tlbi    alle2
    dsb     ish
    isb
    bl      start_secondaries
    b       schedule_next

// el2_setup: the controls shared by every tenant (the per-tenant one is VTTBR_EL2).
el2_setup:
    ldr     x0, =HCR_EL2_TENANT
    msr     hcr_el2, x0
    ldr     x0, =CPTR_EL2_TENANT
    msr     cptr_el2, x0
    mov     x0, #CNTHCTL_EL2_TENANT
    msr     cnthctl_el2, x0
    msr     cntvoff_el2, xzr
    mrs     x0, mdcr_el2
    orr     x0, x0, #MDCR_TPMCR_TPM
    orr     x0, x0, #MDCR_TDA_TDOSA_TDRA
    msr     mdcr_el2, x0
    // A tenant reading MIDR_EL1/MPIDR_EL1 gets VPIDR_EL2/VMPIDR_EL2: the real part number, and
    // its vCPU's affinity whatever core it runs on (loaded with the vCPU: TN_VMPIDR_EL2).
    mrs     x0, midr_el1
    msr     vpidr_el2, x0
    ldr     x0, =VMPIDR_TENANT
    msr     vmpidr_el2, x0
    ldr     x0, =VTCR_EL2_TENANT
    msr     vtcr_el2, x0
    isb
    ret

.include "hyp_console.inc"
.include "hyp_manifest.inc"
.include "hyp_stage2.inc"
.include "hyp_sched.inc"
.include "hyp_smp.inc"
.include "hyp_toe.inc"
.include "hyp_dyn.inc"
.include "hyp_ffa.inc"
.include "hyp_route.inc"
.include "hyp_traps.inc"
.include "hyp_gic.inc"
.include "hyp_vgicd.inc"
.include "hyp_data.inc"
