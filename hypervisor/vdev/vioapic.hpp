// The IOAPIC as one partition sees it through its trapped IOAPIC page.
//
// Register layout: Intel 82093AA I/O APIC datasheet (290566-001) 3.0-3.2:
// IOREGSEL at 0x00, IOWIN at 0x10, indirect registers ID 0x00, VER 0x01,
// ARB 0x02, redirection table 0x10 + 2 * pin (bits 31:0) and + 1 (63:32).
// Version 0x20 IOAPICs (ICH and later chipsets) add a directed EOI register
// at 0x40. Remappable entries: Intel VT-d specification 3.4, 5.1.5.1.
//
// A partition programs only the pins it owns. The guest keeps a shadow of
// every entry it writes; the physical entry keeps the guest's vector, trigger
// mode, polarity and mask, and always delivers Fixed, in physical mode, to one
// of the partition's cores: the guest's physical destination when it names one
// (Linux allocates a vector on one CPU and targets that CPU; delivered to
// another, the interrupt is lost), the owner core otherwise (logical mode, the
// broadcast ID, a core of another partition). Nothing here touches hardware:
// each access returns an Action the caller carries out and logs.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "drivers/x86/ioapic.hpp"

#include "natsume/config_blob.h"

namespace natsume::vioapic {

// One Vioapic per physical IOAPIC; pins beyond 64 are not supported.
inline constexpr uint8_t MAX_PINS = 64;

// Registers and entry fields: drivers/x86/ioapic.hpp.
namespace hw = drivers::ioapic;

// Vectors 0x00-0x0F are reserved for exceptions (SDM Vol. 3A 10.5.2 treats them
// as illegal), 0xFF is kept for the guest's spurious vector.
inline constexpr uint8_t MIN_VECTOR = 0x10;
inline constexpr uint8_t MAX_VECTOR = 0xFE;

// As many cores as a partition file lists.
inline constexpr uint8_t MAX_CORES = NATSUME_CONFIG_MAX_CORES;

struct Config {
    uint8_t pins;            // redirection entries of the physical IOAPIC (24 on PC chipsets)
    uint64_t owned;          // bit n set: the partition owns pin n
    uint32_t owner_apic_id;  // APIC ID of the partition's first core: where interrupts go by default
    bool remapped;           // physical entries use the VT-d remappable format
    uint16_t irte_base;      // remapped only: pin n uses interrupt-remapping entry irte_base + n
    uint8_t ioapic_id;       // what the guest reads in the ID register (bits 27:24)
    uint8_t version;         // 0x11 (82093AA) or 0x20 (with the EOI register)
    // Optional: bits 31:0 of the live physical entry, so guest reads of an
    // owned pin see the real Delivery Status and Remote IRR. Null: both read 0.
    uint32_t (*live_low)(void* ctx, uint8_t pin);
    void* live_ctx;
    // The partition's cores (APIC IDs), owner_apic_id among them; a guest
    // destination naming one of them is kept. core_count 0: the partition
    // has only owner_apic_id. Last, with defaults, so that initialisers
    // written before partitions had several cores still mean one core.
    uint32_t cores[MAX_CORES] = {};
    uint8_t core_count        = 0;
};

enum class Kind : uint8_t {
    None,        // access completed on the shadow; nothing for the caller to do
    ShadowOnly,  // guest state changed, the physical entry stays as it is
    ProgramPin,  // write low/high as the physical entry of pin (high first, then low)
    // Write vector to the physical EOI register. The IOAPIC clears Remote IRR
    // on every entry with that vector, so another partition's level pin using
    // the same vector may see its still-asserted line delivered once more.
    Eoi,
    Refused,  // no hardware change; log why
};

enum class Why : uint8_t {
    None,
    ForeignPin,        // the pin belongs to no device of this partition
    BadVector,         // unmasked entry with a vector outside 0x10..0xFE
    BadDeliveryMode,   // unmasked SMI, NMI, INIT or ExtINT entry
    BadAccess,         // not an aligned 32-bit access to IOREGSEL, IOWIN or EOI
    NoSuchRegister,    // selected index or offset is not a register
    ReadOnlyRegister,  // VER or ARB
    ForeignVector,     // EOI for a vector no owned pin uses
};

struct Action {
    Kind kind;
    Why why;
    uint8_t pin;         // ProgramPin, Eoi, and Refused for pin registers
    uint32_t low, high;  // ProgramPin: the physical entry
    uint8_t vector;      // ProgramPin and Eoi: the guest's vector
    // ProgramPin with Config::remapped: the interrupt-remapping entry to
    // program with vector, dest_apic_id and the trigger mode before unmasking.
    uint16_t irte_index;
    bool level;  // ProgramPin: level-triggered
    // ProgramPin: the core the pin delivers to (destination() of the guest's
    // entry). Also in bits 63:56 of the entry unless Config::remapped.
    uint32_t dest_apic_id;
};

// Checks a Config before use: pin count 1..MAX_PINS, owned pins within it,
// version 0x11 or 0x20, owner and cores with APIC IDs below 0xFF (the xAPIC
// broadcast ID) unless remapped, at most MAX_CORES cores with the owner among
// them, and remapping entries that fit a 16-bit handle.
[[nodiscard]] bool config_ok(const Config&);

// The core a guest entry delivers to: its physical destination (bits 63:56,
// destination mode bit 11 clear) when that is one of the partition's cores,
// owner_apic_id otherwise. 0xFF is the broadcast ID and never a core here.
// The vector, mask and delivery mode play no part.
uint32_t destination(const Config&, uint64_t guest_entry);

// The physical entry for an owned pin given the guest's 64-bit entry; Refused
// (BadVector, BadDeliveryMode) for an unmasked entry hardware must not get.
// A masked entry is always accepted: its vector and mode cannot fire.
Action translate_entry(const Config&, uint8_t pin, uint64_t guest_entry);

class Vioapic {
public:
    explicit Vioapic(const Config& config);  // config must pass config_ok

    Action read(uint32_t offset, uint8_t size, uint32_t& value) const;
    // A write to an entry's high half is ProgramPin when it moves the pin to
    // another core (destination() changes), ShadowOnly otherwise.
    Action write(uint32_t offset, uint8_t size, uint32_t value);

    // What to program into an owned pin before the guest runs: masked, the
    // owner as destination.
    uint64_t initial_entry(uint8_t pin) const;

    bool owns(uint8_t pin) const;
    uint64_t shadow(uint8_t pin) const;  // what the guest last wrote (masked reset value first)
    uint8_t selected() const { return select_; }
    const Config& config() const { return config_; }

private:
    Action write_window(uint32_t value);
    Action write_entry(uint8_t pin, bool high_half, uint32_t value);
    Action read_window(uint32_t& value) const;
    uint32_t read_entry_half(uint8_t pin, bool high_half) const;
    Action write_eoi(uint32_t value) const;

    Config config_;
    uint8_t select_            = 0;
    uint8_t id_                = 0;
    uint64_t shadow_[MAX_PINS] = {};
};

const char* to_string(Why);
const char* to_string(Kind);

}  // namespace natsume::vioapic
