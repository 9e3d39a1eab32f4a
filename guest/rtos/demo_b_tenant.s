// demo_b_tenant: rtos_demo_b (demo_b.s) built to run under our hypervisor. The program is
// the same; a tenant has no semihosting, so it powers off with PSCI SYSTEM_OFF over HVC.

.equ EXIT_VIA_HVC,      1
.include "demo_b.s"
