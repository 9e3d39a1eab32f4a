// virtio_mmio: the virt board's 32 virtio-mmio transports (VIRTIO v1.2, 4.2) at 0x0a000000,
// 0x200 apart, with no device plugged into any, read back at EL2.
//
// Expected (QEMU virt's hw/virtio/virtio-mmio.c without a backend): MagicValue 0x74726976
// ("virt"), Version 1 (QEMU 7.2 transports are legacy unless force-legacy=off), DeviceID 0 (no
// device), VendorID 0x554d4551 ("QEMU") in the first, second and last transport; every other
// register reads 0 and ignores writes.

    .include "gic_probe.inc"

.equ VIRTIO_BASE,           0x0a000000
.equ VIRTIO_STRIDE,         0x200
.equ VirtioMagicValue,      0x000
.equ VirtioVersion,         0x004
.equ VirtioDeviceID,        0x008
.equ VirtioVendorID,        0x00c
.equ VirtioDeviceFeatures,  0x010
.equ VirtioQueueNumMax,     0x034
.equ VirtioQueuePFN,        0x040
.equ VirtioInterruptStatus, 0x060
.equ VirtioStatus,          0x070
.equ VirtioConfigGeneration, 0x0fc

// VIRTIO_ID n: the identification registers of transport n.
.macro VIRTIO_ID n
    RD32    (VIRTIO_BASE + \n * VIRTIO_STRIDE), VirtioMagicValue, MagicValue
    RD32    (VIRTIO_BASE + \n * VIRTIO_STRIDE), VirtioVersion, Version
    RD32    (VIRTIO_BASE + \n * VIRTIO_STRIDE), VirtioDeviceID, DeviceID
    RD32    (VIRTIO_BASE + \n * VIRTIO_STRIDE), VirtioVendorID, VendorID
.endm

probe_main:
    LINE    "virtio_mmio: transports 0, 1 and 31 with no device"
    VIRTIO_ID 0
    VIRTIO_ID 1
    VIRTIO_ID 31

    LINE    "the absent device's registers read 0 and ignore writes"
    RD32    VIRTIO_BASE, VirtioDeviceFeatures, DeviceFeatures
    RD32    VIRTIO_BASE, VirtioQueueNumMax, QueueNumMax
    RD32    VIRTIO_BASE, VirtioInterruptStatus, InterruptStatus
    RD32    VIRTIO_BASE, VirtioConfigGeneration, ConfigGeneration
    WR32    VIRTIO_BASE, VirtioStatus, 0xf
    RD32    VIRTIO_BASE, VirtioStatus, Status
    WR32    VIRTIO_BASE, VirtioQueuePFN, 0x40000
    RD32    VIRTIO_BASE, VirtioQueuePFN, QueuePFN
    WR32    VIRTIO_BASE, VirtioMagicValue, 0
    RD32    VIRTIO_BASE, VirtioMagicValue, MagicValue
    EXIT    0
