// Intel 8254x (82540EM) register map and descriptor layouts, from the
// "PCI/PCI-X Family of Gigabit Ethernet Controllers Software Developer's
// Manual" (8254x SDM): section 13 registers, 3.2.3 / 3.3.3 descriptors; the
// 82574's IVAR from its datasheet (10.2.4.9). Used by the guest kernel's
// driver, the hypervisor's shared-line check and the VT-d self-test. Pure
// definitions, host-tested.
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace natsume::drivers::e1000 {

inline constexpr uint16_t VENDOR_INTEL   = 0x8086;
inline constexpr uint16_t DEVICE82540_EM = 0x100e;
inline constexpr uint16_t DEVICE82574_L  = 0x10d3;  // e1000e: MSI-X

// The 8254x family members that share this register map (and a
// read-to-clear ICR at 0xC0): 82540EM, 82545EM, 82541GI, 82547GI, 82541PI, 82544GC.
constexpr bool is_8254x(uint16_t vendor, uint16_t device) {
    return vendor == VENDOR_INTEL && (device == 0x100e || device == 0x100f || device == 0x1076 || device == 0x1075 ||
                                      device == 0x107c || device == 0x1019);
}

enum class Reg : uint32_t {
    Ctrl   = 0x0000,
    Status = 0x0008,
    Eerd   = 0x0014,
    Icr    = 0x00c0,
    Ics    = 0x00c8,
    Ims    = 0x00d0,
    Imc    = 0x00d8,
    Ivar   = 0x00e4,  // 82574 only: interrupt cause to MSI-X entry
    Rctl   = 0x0100,
    Tctl   = 0x0400,
    Tipg   = 0x0410,
    Rdbal  = 0x2800,
    Rdbah  = 0x2804,
    Rdlen  = 0x2808,
    Rdh    = 0x2810,
    Rdt    = 0x2818,
    Rdtr   = 0x2820,
    Tdbal  = 0x3800,
    Tdbah  = 0x3804,
    Tdlen  = 0x3808,
    Tdh    = 0x3810,
    Tdt    = 0x3818,
    Mta    = 0x5200,  // 128 dwords of multicast table
    Ral0   = 0x5400,
    Rah0   = 0x5404,
};

// CTRL (13.4.1)
inline constexpr uint32_t CTRL_ASDE = 1u << 5;
inline constexpr uint32_t CTRL_SLU  = 1u << 6;
inline constexpr uint32_t CTRL_RST  = 1u << 26;
// STATUS (13.4.2)
inline constexpr uint32_t STATUS_LINK_UP = 1u << 1;
// EERD (13.4.4, 82540EM layout): start, done, word address, data.
inline constexpr uint32_t EERD_START      = 1u << 0;
inline constexpr uint32_t EERD_DONE       = 1u << 4;
inline constexpr unsigned EERD_ADDR_SHIFT = 8;
inline constexpr unsigned EERD_DATA_SHIFT = 16;
// Interrupt causes, shared by ICR/ICS/IMS/IMC (13.4.17).
inline constexpr uint32_t INT_TXDW   = 1u << 0;
inline constexpr uint32_t INT_TXQE   = 1u << 1;
inline constexpr uint32_t INT_LSC    = 1u << 2;
inline constexpr uint32_t INT_RXDMT0 = 1u << 4;
inline constexpr uint32_t INT_RXO    = 1u << 6;
inline constexpr uint32_t INT_RXT0   = 1u << 7;
inline constexpr uint32_t INT_RXQ0   = 1u << 20;  // 82574: receive queue 0 (MSI-X)
// 82574 IVAR: receive queue 0's MSI-X entry in bits 2:0, valid bit 3.
inline constexpr uint32_t IVAR_VALID = 1u << 3;
constexpr uint32_t reg(Reg r) { return static_cast<uint32_t>(r); }
// RCTL (13.4.22): enable, broadcast accept, 2048-byte buffers (BSIZE 00,
// BSEX 0), strip CRC.
inline constexpr uint32_t RCTL_EN    = 1u << 1;
inline constexpr uint32_t RCTL_BAM   = 1u << 15;
inline constexpr uint32_t RCTL_SECRC = 1u << 26;
// TCTL (13.4.33): enable, pad short packets, collision threshold 0x10,
// full-duplex collision distance 0x40.
inline constexpr uint32_t TCTL_EN   = 1u << 1;
inline constexpr uint32_t TCTL_PSP  = 1u << 3;
inline constexpr uint32_t TCTL_CT   = 0x10u << 4;
inline constexpr uint32_t TCTL_COLD = 0x40u << 12;
// TIPG for copper 82540EM (13.4.34): IPGT 10, IPGR1 8, IPGR2 6.
inline constexpr uint32_t TIPG_COPPER = 10u | (8u << 10) | (6u << 20);
// Receive Address High: address valid (13.5.3).
inline constexpr uint32_t RAH_AV = 1u << 31;

inline constexpr unsigned MTA_ENTRIES = 128;
inline constexpr size_t BUFFER_SIZE   = 2048;

// Legacy receive descriptor (3.2.3).
struct RxDesc {
    uint64_t addr;
    uint16_t length;
    uint16_t checksum;
    uint8_t status;
    uint8_t errors;
    uint16_t special;
};
static_assert(sizeof(RxDesc) == 16);
static_assert(offsetof(RxDesc, length) == 8 && offsetof(RxDesc, status) == 12 && offsetof(RxDesc, errors) == 13);
inline constexpr uint8_t RX_STATUS_DD  = 1u << 0;
inline constexpr uint8_t RX_STATUS_EOP = 1u << 1;

// Legacy transmit descriptor (3.3.3).
struct TxDesc {
    uint64_t addr;
    uint16_t length;
    uint8_t cso;
    uint8_t cmd;
    uint8_t status;
    uint8_t css;
    uint16_t special;
};
static_assert(sizeof(TxDesc) == 16);
static_assert(offsetof(TxDesc, length) == 8 && offsetof(TxDesc, cmd) == 11 && offsetof(TxDesc, status) == 12);
inline constexpr uint8_t TX_CMD_EOP   = 1u << 0;
inline constexpr uint8_t TX_CMD_IFCS  = 1u << 1;
inline constexpr uint8_t TX_CMD_RS    = 1u << 3;
inline constexpr uint8_t TX_STATUS_DD = 1u << 0;

// Descriptor rings: base 16-byte aligned, length a multiple of 128 bytes
// (13.4.27 RDLEN, 13.4.38 TDLEN).
inline constexpr size_t RING_ALIGN = 128;
constexpr bool valid_ring_bytes(size_t bytes) { return bytes != 0 && bytes % RING_ALIGN == 0; }

// Next index in a ring of n descriptors.
constexpr uint32_t ring_next(uint32_t i, uint32_t n) { return i + 1 == n ? 0 : i + 1; }

// RAL/RAH hold the MAC little-endian: byte 0 in RAL bits 7:0.
constexpr uint32_t ral_from_mac(const uint8_t m[6]) {
    return uint32_t{m[0]} | uint32_t{m[1]} << 8 | uint32_t{m[2]} << 16 | uint32_t{m[3]} << 24;
}
constexpr uint32_t rah_from_mac(const uint8_t m[6]) { return uint32_t{m[4]} | uint32_t{m[5]} << 8 | RAH_AV; }

}  // namespace natsume::drivers::e1000
