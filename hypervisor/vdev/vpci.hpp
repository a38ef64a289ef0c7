// One partition's view of PCI configuration space.
//
// A partition sees the functions it owns, at their physical BDFs, plus a
// virtual host bridge at 00:00.0 when it does not own that function; every
// other BDF reads as absent, except function 0 of a slot where it owns a later
// function: a stub with the machine's IDs and the multi-function bit, so that
// guests scan the slot. Reads and writes of owned functions are filtered:
// BARs stay where the platform put them (sizing is emulated), the capability
// list shows only an allowed set, Interrupt Line is a per-partition byte, bus
// mastering needs DMA permission, and extended config space is not exposed.
// The same object serves trapped 0xCF8/0xCFC and ECAM accesses.
//
// BAR writes are judged on the dword they leave: all address bits set is a
// sizing probe (answered from the sizes found at boot), the platform's base is
// accepted, anything else is a refused relocation; hardware BARs are never
// written.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "lib/pci.hpp"
#include "vdev/msi_route.hpp"

namespace natsume::vpci {

inline constexpr size_t MAX_DEVICES      = 16;
inline constexpr size_t MAX_CAPABILITIES = 16;  // per device; real devices have fewer than ten

// Identity of the virtual host bridge: the i440FX PMC (8086:1237, revision 2),
// class 06/00/00, header type 0, no BARs, no capabilities. It is what Bochs and
// QEMU's pc machine put at 00:00.0, so guests already know it and apply no
// quirks that touch real hardware; Natsume has no PCI vendor ID of its own.
inline constexpr uint16_t HOST_BRIDGE_VENDOR = 0x8086, HOST_BRIDGE_DEVICE = 0x1237;
inline constexpr uint8_t HOST_BRIDGE_REVISION = 0x02;

// A set of capability IDs 0..31 (IDs above 31 are never shown).
constexpr uint32_t cap_bit(uint8_t id) { return id < 32 ? 1u << id : 0u; }
// Shown by default: power management and PCI Express. MSI and MSI-X stay
// hidden unless a device's options virtualize them (msi_virtual, msix_virtual).
inline constexpr uint32_t DEFAULT_SHOWN_CAPABILITIES =
    cap_bit(pci::CAP_POWER_MANAGEMENT) | cap_bit(pci::CAP_PCI_EXPRESS);

struct DeviceOptions {
    bool dma_allowed;  // may the guest set Bus Master Enable?
    // The hypervisor owns the INTx line (shared with another partition's device)
    // and masks this function with command bit 10 itself: the guest's bit 10 is
    // then kept in Device::guest_intx_disable and never written to hardware.
    bool intx_virtual;
    // MSI virtualized: the capability is shown; the guest's address and data
    // are kept in Device, and the device is programmed with the message
    // msi_route gives for the guest's vector (slot 0), fixed, edge, to the
    // core the guest's address names when it is one of msi_route's cores,
    // to the owner core otherwise (PCI 3.0 6.8.1). Every guest write to the
    // address, data or enable reprograms the device. add_device refuses a
    // route msi::Route::check refuses.
    bool msi_virtual = false;
    msi::Route msi_route{};
    // MSI-X virtualized: the capability is shown; the guest's MSI-X Enable and
    // Function Mask bits reach the hardware, table size and Table/PBA
    // Offset/BIR read through and are read-only. Safe only because the
    // hypervisor traps the table's pages (vdev/msix.hpp) so the hardware
    // table holds nothing but its own masked entries or entries aimed at the
    // partition's cores; the device starts with MSI-X disabled.
    bool msix_virtual = false;
};

struct Capability {
    uint8_t id, offset, length;  // length in bytes, from offset
    bool shown;
};

// An owned function and its virtual registers. Public so the hypervisor can
// read the guest's choices (interrupt line, INTx mask).
struct Device {
    pci::Function fn;  // as enumerated and sized on the real platform
    DeviceOptions options;
    uint8_t irq_line;                   // what the guest last wrote (initially the physical value)
    bool guest_intx_disable;            // guest's command bit 10 when options.intx_virtual
    uint8_t bar_sizing;                 // bit per BAR slot: all ones written, reads give the size mask
    Capability caps[MAX_CAPABILITIES];  // the physical chain, in list order
    uint8_t cap_count;
    uint8_t first_shown_cap;  // 0: the guest sees no capability list
    // MSI as the guest programmed it (msi_virtual).
    uint32_t msi_address_lo, msi_address_hi;
    uint16_t msi_data, msi_control;
};

enum class [[nodiscard]] Error{
    Ok,          TooManyDevices, DuplicateDevice, BrokenCapabilityList, TooManyCapabilities,
    NotPresent,   // hw has no function with fn's vendor ID at fn.bdf
    BadMsiRoute,  // msi_virtual with a route msi::Route::check refuses
};
const char* to_string(Error);

struct WriteResult {
    enum class Kind { Done, Ignored, Refused } kind;
    // Refused: one sentence for the hypervisor's log; null otherwise. A refused
    // command-register write still applies its permitted bits.
    const char* why;
};

class ConfigSpace {
public:
    // Empty partition view: no devices, virtual host bridge present. constexpr
    // so a static ConfigSpace needs no constructor run at boot.
    constexpr explicit ConfigSpace(uint32_t shown_capabilities = DEFAULT_SHOWN_CAPABILITIES)
        : devices_{}, count_{0}, shown_caps_{shown_capabilities} {}
    void reset(uint32_t shown_capabilities = DEFAULT_SHOWN_CAPABILITIES);

    // Takes ownership of fn (a copy; its BARs must already be sized). Checks
    // that hw still answers at fn.bdf with fn's vendor ID and walks the
    // function's capability list through hw once to build the filtered chain.
    [[nodiscard]] Error add_device(const pci::Function& fn, const DeviceOptions& options, const pci::ConfigAccess& hw);

    // size is 1, 2 or 4 and the access stays within one dword; offset is the
    // byte offset (0..0xFFF). Other sizes read as all ones and writes are ignored.
    // The result is right-aligned and has only size bytes.
    uint32_t read(uint16_t bdf, uint16_t offset, uint8_t size, const pci::ConfigAccess& hw) const;
    WriteResult write(uint16_t bdf, uint16_t offset, uint8_t size, uint32_t value, const pci::ConfigAccess& hw);

    bool owns(uint16_t bdf) const { return find(bdf) != nullptr; }
    const Device* find(uint16_t bdf) const;
    bool has_virtual_host_bridge() const { return !owns(0); }
    // Owns a function 1-7 of the slot whose function 0 is function0; that
    // function 0 then reads as a stub with the multi-function bit when the
    // partition does not own it (the virtual host bridge at 00:00.0 gets the bit).
    bool owns_later_function(uint16_t function0) const;
    size_t device_count() const { return count_; }
    const Device& device(size_t i) const { return devices_[i]; }

private:
    Device* find_mutable(uint16_t bdf);

    Device devices_[MAX_DEVICES];
    size_t count_;
    uint32_t shown_caps_;
};

}  // namespace natsume::vpci
