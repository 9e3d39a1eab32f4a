// check_tenant: the tenant-contract check (check.s) built to run under our hypervisor. The
// program is the same; only the exit changes: a tenant has no semihosting, so it powers off
// with PSCI SYSTEM_OFF over HVC (the SMCCC conduit the hypervisor provides).

.equ EXIT_VIA_HVC,      1
.include "check.s"
