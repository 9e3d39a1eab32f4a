"""Exception syndromes: ESR_ELx.EC names and ISS decoding (Arm DDI 0487, D17.2.37 "ESR_EL1").

Names follow the Arm ARM's exception class descriptions, abbreviated as Hafnium and Linux do
(EC_DABT_LOW, EC_HVC64, ...), so a trace line reads like the manual.
"""

from __future__ import annotations

from .sysregs import SysReg, name_of

# EC value -> (name, description)
EXCEPTION_CLASSES: dict[int, tuple[str, str]] = {
    0x00: ("EC_UNKNOWN", "Unknown reason (undefined instruction)"),
    0x01: ("EC_WFX", "Trapped WFI or WFE"),
    0x03: ("EC_CP15_32", "Trapped AArch32 MCR/MRC (coproc 0b1111)"),
    0x04: ("EC_CP15_64", "Trapped AArch32 MCRR/MRRC (coproc 0b1111)"),
    0x05: ("EC_CP14_32", "Trapped AArch32 MCR/MRC (coproc 0b1110)"),
    0x06: ("EC_CP14_LS", "Trapped AArch32 LDC/STC"),
    0x07: ("EC_FP_ASIMD", "Access to SIMD or floating-point registers trapped"),
    0x0C: ("EC_CP14_64", "Trapped AArch32 MRRC (coproc 0b1110)"),
    0x0E: ("EC_ILL", "Illegal Execution state"),
    0x11: ("EC_SVC32", "SVC in AArch32 state"),
    0x12: ("EC_HVC32", "HVC in AArch32 state"),
    0x13: ("EC_SMC32", "SMC in AArch32 state"),
    0x15: ("EC_SVC64", "SVC in AArch64 state"),
    0x16: ("EC_HVC64", "HVC in AArch64 state"),
    0x17: ("EC_SMC64", "SMC in AArch64 state"),
    0x18: ("EC_SYS64", "Trapped MSR, MRS or System instruction"),
    0x1F: ("EC_IMP_DEF", "Implementation defined, to EL3"),
    0x20: ("EC_IABT_LOW", "Instruction Abort from a lower Exception level"),
    0x21: ("EC_IABT_CUR", "Instruction Abort taken without a change in Exception level"),
    0x22: ("EC_PC_ALIGN", "PC alignment fault"),
    0x24: ("EC_DABT_LOW", "Data Abort from a lower Exception level"),
    0x25: ("EC_DABT_CUR", "Data Abort taken without a change in Exception level"),
    0x26: ("EC_SP_ALIGN", "SP alignment fault"),
    0x28: ("EC_FP_EXC32", "Trapped floating-point exception (AArch32)"),
    0x2C: ("EC_FP_EXC64", "Trapped floating-point exception (AArch64)"),
    0x2F: ("EC_SERROR", "SError interrupt"),
    0x30: ("EC_BREAKPT_LOW", "Breakpoint from a lower Exception level"),
    0x31: ("EC_BREAKPT_CUR", "Breakpoint without a change in Exception level"),
    0x32: ("EC_SOFTSTP_LOW", "Software Step from a lower Exception level"),
    0x33: ("EC_SOFTSTP_CUR", "Software Step without a change in Exception level"),
    0x34: ("EC_WATCHPT_LOW", "Watchpoint from a lower Exception level"),
    0x35: ("EC_WATCHPT_CUR", "Watchpoint without a change in Exception level"),
    0x38: ("EC_BKPT32", "BKPT in AArch32 state"),
    0x3C: ("EC_BRK64", "BRK in AArch64 state"),
}

EC_UNKNOWN = 0x00
EC_WFX = 0x01
EC_FP_ASIMD = 0x07
EC_SVC64 = 0x15
EC_HVC64 = 0x16
EC_SMC64 = 0x17
EC_SYS64 = 0x18
EC_IABT_LOW = 0x20
EC_IABT_CUR = 0x21
EC_DABT_LOW = 0x24
EC_DABT_CUR = 0x25
EC_BRK64 = 0x3C

ABORT_CLASSES = {EC_IABT_LOW, EC_IABT_CUR, EC_DABT_LOW, EC_DABT_CUR, 0x22, 0x34, 0x35}

# Data/Instruction Fault Status Codes (ISS.DFSC / IFSC), D17.2.37.
_FSC = {
    0b000000: "address size fault, level 0",
    0b000001: "address size fault, level 1",
    0b000010: "address size fault, level 2",
    0b000011: "address size fault, level 3",
    0b000100: "translation fault, level 0",
    0b000101: "translation fault, level 1",
    0b000110: "translation fault, level 2",
    0b000111: "translation fault, level 3",
    0b001001: "access flag fault, level 1",
    0b001010: "access flag fault, level 2",
    0b001011: "access flag fault, level 3",
    0b001101: "permission fault, level 1",
    0b001110: "permission fault, level 2",
    0b001111: "permission fault, level 3",
    0b010000: "synchronous external abort",
    0b100001: "alignment fault",
    0b110000: "TLB conflict abort",
}


def ec_of(esr: int) -> int:
    return (esr >> 26) & 0x3F


def ec_name(ec: int) -> str:
    return EXCEPTION_CLASSES.get(ec, (f"EC_{ec:#04x}", "reserved"))[0]


def fault_status(fsc: int) -> str:
    return _FSC.get(fsc, f"fault status {fsc:#04x}")


def decode_iss(esr: int) -> str:
    """The ISS fields of ``esr`` that matter for its EC, as ``name=value`` words."""
    ec = ec_of(esr)
    iss = esr & 0x1FFFFFF
    il = (esr >> 25) & 1
    if ec in (EC_SVC64, EC_HVC64, EC_SMC64, 0x11, 0x12, 0x13, EC_BRK64):
        return f"imm={iss & 0xFFFF:#x}"
    if ec in (EC_DABT_LOW, EC_DABT_CUR):
        words = []
        if iss & (1 << 24):  # ISV: the syndrome describes the access (D17.2.37, "ISS encoding for Data Abort")
            sas = (iss >> 22) & 3
            srt = (iss >> 16) & 0x1F
            words += [f"size={1 << sas}", f"reg={'x' if iss & (1 << 15) else 'w'}{srt}" if srt != 31 else "reg=zr"]
            if iss & (1 << 21):
                words.append("sign-extend")
        else:
            words.append("ISV=0")
        words.append("write" if iss & (1 << 6) else "read")
        if iss & (1 << 7):
            words.append("s1ptw")
        if iss & (1 << 10):
            words.append("FnV")
        words.append(fault_status(iss & 0x3F))
        return " ".join(words)
    if ec in (EC_IABT_LOW, EC_IABT_CUR):
        return fault_status(iss & 0x3F)
    if ec == EC_SYS64:
        op0 = (iss >> 20) & 3
        op2 = (iss >> 17) & 7
        op1 = (iss >> 14) & 7
        crn = (iss >> 10) & 0xF
        rt = (iss >> 5) & 0x1F
        crm = (iss >> 1) & 0xF
        read = iss & 1
        reg = name_of(SysReg(op0, op1, crn, crm, op2))
        rts = f"x{rt}" if rt != 31 else "xzr"
        return f"mrs {rts}, {reg}" if read else f"msr {reg}, {rts}"
    if ec == EC_WFX:
        return "wfe" if iss & 1 else "wfi"
    if ec == EC_UNKNOWN:
        return f"IL={il}"
    return f"ISS={iss:#x}"


def describe(esr: int) -> str:
    """One phrase for a syndrome: ``EC_DABT_LOW (Data Abort from a lower Exception level): ...``."""
    ec = ec_of(esr)
    name, text = EXCEPTION_CLASSES.get(ec, (f"EC_{ec:#04x}", "reserved"))
    return f"{name} ({text}): {decode_iss(esr)}"


# Exceptions whose preferred return address is the instruction after the one that raised them
# (D1.10.1: SVC, HVC and SMC return past the call; everything else returns to the instruction).
_RETURN_AFTER = {0x11, 0x12, 0x13, EC_SVC64, EC_HVC64, EC_SMC64}


def insn_address(esr: int, elr: int) -> int:
    """Address of the instruction that raised a synchronous exception, from ESR and ELR."""
    return elr - 4 if ec_of(esr) in _RETURN_AFTER else elr
