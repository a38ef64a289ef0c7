// One DMA-remapping hardware unit (a DRHD): root and context tables, cache
// invalidation (queued when the unit has it, else register-based), enabling
// translation, fault recording and interrupt remapping.
//
// Every command to the hardware is a GCMD/GSTS handshake or an invalidation
// completion, each with a deadline (a real-time hypervisor never spins
// forever): a unit that stops answering
// yields Status::Timeout, never a silent hang.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "arch/x86/vtd/caps.hpp"
#include "arch/x86/vtd/domain.hpp"
#include "arch/x86/vtd/faults.hpp"
#include "arch/x86/vtd/invalidation.hpp"
#include "arch/x86/vtd/irte.hpp"
#include "arch/x86/vtd/regs.hpp"
#include "arch/x86/vtd/tables.hpp"

namespace natsume::x86::vtd {

enum class [[nodiscard]] Status : uint8_t{
    Ok,
    NoMemory,     // the page pool is exhausted
    Timeout,      // the unit did not complete a command before its deadline
    QueueError,   // the invalidation queue reported an error (FSTS.IQE/ICE/ITE)
    Unsupported,  // e.g. interrupt remapping on a unit without ECAP.IR
    BadArgument,  // levels the unit cannot walk, index beyond the table
    NotReady,     // the operation needs init()/enable_interrupt_remapping() first
};
const char* to_string(Status);

// Table memory for second-level tables: pool pages, one store per entry,
// flushed from the CPU caches when the unit does not snoop (ECAP.C = 0).
class TableMemory {
public:
    constexpr explicit TableMemory(bool coherent) : coherent_(coherent) {}
    uint64_t alloc_table();
    uint64_t* table(uint64_t phys) { return reinterpret_cast<uint64_t*>(phys); }
    void store(uint64_t* slot, uint64_t v);
    void set_coherent(bool c) { coherent_ = c; }

private:
    bool coherent_;
};
using SlDomain = Domain<TableMemory>;

class Iommu {
public:
    // Reads the capabilities, turns off whatever firmware left on, installs an
    // empty root table and sets up queued invalidation when available and
    // allowed (use_queue = false forces the register-based commands, which
    // also rules out interrupt remapping).
    [[nodiscard]] Status init(uint64_t register_base, bool use_queue = true);

    Cap cap() const { return cap_; }
    Ecap ecap() const { return ecap_; }
    uint32_t version() const;
    bool queued() const { return queued_; }
    bool coherent() const { return ecap_.coherent(); }
    TableMemory& memory() { return memory_; }
    // The paging depth to use for domains on this unit: 4 when wide_iova and
    // supported, else 3 when supported, else 4; 0 if neither.
    unsigned domain_levels(bool wide_iova) const;

    // Points bus:devfn at the domain's tables and invalidates the device's
    // context-cache entry and the domain's IOTLB entries.
    [[nodiscard]] Status attach(uint16_t source_id, const SlDomain& d);
    // After changing an attached domain's mappings.
    [[nodiscard]] Status flush_domain(uint16_t domain_id);

    [[nodiscard]] Status enable_translation();
    bool translation_enabled() const;

    // Pending fault records, oldest first; each is cleared after fn saw it.
    // Also clears the overflow flag. Returns how many were pending.
    size_t drain_faults(void (*fn)(void* ctx, const FaultRecord&), void* ctx);
    // Fault events as an MSI to this APIC ID and vector (VT-d spec 10.4.10-12).
    void enable_fault_event(uint8_t vector, uint32_t apic_id);

    // Interrupt remapping with a table of `entries` (power of two, 2..65536),
    // x2APIC destinations when eim (needs ECAP.EIM). Compatibility-format
    // interrupts stay blocked (GCMD.CFI clear).
    [[nodiscard]] Status enable_interrupt_remapping(unsigned entries_log2, bool eim);
    [[nodiscard]] Status set_irte(uint16_t index, const IrteSpec& spec);
    [[nodiscard]] Status clear_irte(uint16_t index);
    // An MSI or MSI-X message through entry `index`: programs the entry with
    // spec, then out is the remappable message (VT-d spec 5.1.5.2) naming it.
    [[nodiscard]] Status route_msi(uint16_t index, const IrteSpec& spec, MsiMessage& out);
    bool interrupt_remapping_enabled() const;
    // GSTS.CFIS clear: with IR on, compatibility-format interrupts are blocked (VT-d spec 5.1.4).
    bool compatibility_format_blocked() const;

private:
    uint32_t read(Reg32 r) const;
    uint64_t read(Reg64 r) const;
    void write(Reg32 r, uint32_t v);
    void write(Reg64 r, uint64_t v);
    uint64_t read_at(uint32_t offset) const;
    void write_at(uint32_t offset, uint64_t v);

    [[nodiscard]] Status command(uint32_t bit, bool on);
    [[nodiscard]] Status one_shot(uint32_t bit);
    void store_entry(Entry128* slot, Entry128 e);
    [[nodiscard]] Status flush_write_buffer();
    [[nodiscard]] Status setup_queue();
    [[nodiscard]] Status submit(Entry128 d);
    [[nodiscard]] Status invalidate_context(Granularity g, uint16_t did, uint16_t sid);
    [[nodiscard]] Status invalidate_iotlb(Granularity g, uint16_t did);
    [[nodiscard]] Status invalidate_iec(int index);
    Entry128* context_slot(uint16_t source_id, bool create);

    uint64_t base_ = 0;
    Cap cap_{0};
    Ecap ecap_{0};
    TableMemory memory_{false};
    Entry128* root_                 = nullptr;
    Entry128* queue_                = nullptr;
    uint32_t queue_tail_            = 0;
    volatile uint32_t* wait_status_ = nullptr;
    uint32_t wait_sequence_         = 0;
    bool queued_                    = false;
    Entry128* irt_                  = nullptr;
    uint32_t irt_entries_           = 0;
    bool eim_                       = false;
};

}  // namespace natsume::x86::vtd
