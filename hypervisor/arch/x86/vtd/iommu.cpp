#include "arch/x86/vtd/iommu.hpp"

#include "arch/x86/timing.hpp"
#include "arch/x86/vtd/invalidation.hpp"
#include "base/page_pool.hpp"

namespace natsume::x86::vtd {
namespace {

// Emulated units answer at once; real ones within microseconds. 100 ms means
// "the unit is gone", not "the unit is slow".
constexpr uint64_t COMMAND_TIMEOUT_US = 100000;
constexpr uint64_t CACHE_LINE         = 64;
constexpr uint32_t QUEUE_ENTRIES      = 256;  // one page of 128-bit descriptors (IQA.QS = 0)
constexpr uint32_t QUEUE_ERRORS       = fsts::IQE | fsts::ICE | fsts::ITE;
constexpr unsigned MAX_IRT_LOG2       = 8;  // one pool page: the pool does not promise contiguity

void clflush(const void* p) { asm volatile("clflush %0" ::"m"(*static_cast<const volatile char*>(p))); }
void fence() { asm volatile("mfence" ::: "memory"); }

void flush_range(const void* p, uint64_t len) {
    auto a = reinterpret_cast<uint64_t>(p) & ~(CACHE_LINE - 1);
    for (uint64_t end = reinterpret_cast<uint64_t>(p) + len; a < end; a += CACHE_LINE)
        clflush(reinterpret_cast<const void*>(a));
    fence();
}

}  // namespace

uint64_t TableMemory::alloc_table() {
    uint64_t page = page_pool::alloc();
    if (page != 0 && !coherent_) flush_range(reinterpret_cast<void*>(page), PAGE_4K);
    return page;
}

void TableMemory::store(uint64_t* slot, uint64_t v) {
    *reinterpret_cast<volatile uint64_t*>(slot) = v;
    if (!coherent_) flush_range(slot, sizeof v);
}

uint32_t Iommu::read(Reg32 r) const { return *reinterpret_cast<volatile uint32_t*>(base_ + static_cast<uint32_t>(r)); }
uint64_t Iommu::read(Reg64 r) const { return read_at(static_cast<uint32_t>(r)); }
void Iommu::write(Reg32 r, uint32_t v) { *reinterpret_cast<volatile uint32_t*>(base_ + static_cast<uint32_t>(r)) = v; }
void Iommu::write(Reg64 r, uint64_t v) { write_at(static_cast<uint32_t>(r), v); }
uint64_t Iommu::read_at(uint32_t offset) const { return *reinterpret_cast<volatile uint64_t*>(base_ + offset); }
void Iommu::write_at(uint32_t offset, uint64_t v) { *reinterpret_cast<volatile uint64_t*>(base_ + offset) = v; }

uint32_t Iommu::version() const { return read(Reg32::VER); }

// GCMD/GSTS handshake (10.4.4): write the current state with one bit changed,
// then wait until the status reflects it.
Status Iommu::command(uint32_t bit, bool on) {
    write(Reg32::GCMD, gcmd_value(read(Reg32::GSTS), bit, on));
    bool done = wait_until(COMMAND_TIMEOUT_US, [&] { return ((read(Reg32::GSTS) & bit) != 0) == on; });
    return done ? Status::Ok : Status::Timeout;
}

// SRTP / SIRTP / WBF: the status bit (RTPS, IRTPS) sets when the command is
// done; WBFS instead clears when the flush is done.
Status Iommu::one_shot(uint32_t bit) {
    write(Reg32::GCMD, gcmd_value(read(Reg32::GSTS), bit, true));
    bool clears = bit == gcmd::WBF;
    bool done   = wait_until(COMMAND_TIMEOUT_US, [&] { return ((read(Reg32::GSTS) & bit) != 0) != clears; });
    return done ? Status::Ok : Status::Timeout;
}

Status Iommu::flush_write_buffer() {
    if (!cap_.rwbf()) return Status::Ok;
    return one_shot(gcmd::WBF);
}

// High word first, then the word holding the present bit (see tables.hpp);
// removing an entry clears the present word first.
void Iommu::store_entry(Entry128* slot, Entry128 e) {
    auto* words = reinterpret_cast<volatile uint64_t*>(slot);
    if (e.lo & ENTRY_PRESENT) {
        words[1] = e.hi;
        asm volatile("" ::: "memory");
        words[0] = e.lo;
    } else {
        words[0] = e.lo;
        asm volatile("" ::: "memory");
        words[1] = e.hi;
    }
    if (!coherent()) flush_range(slot, sizeof *slot);
}

Status Iommu::init(uint64_t register_base, bool use_queue) {
    // A DRHD base of 0 or an unaligned one is a firmware error; all-ones
    // registers mean nothing answers at that address.
    if (register_base == 0 || (register_base & (PAGE_4K - 1)) != 0) return Status::BadArgument;
    base_ = register_base;
    cap_  = Cap{read(Reg64::CAP)};
    ecap_ = Ecap{read(Reg64::ECAP)};
    if (cap_.raw == ~uint64_t{0} || (cap_.sagaw() & 0x6) == 0) return Status::Unsupported;
    memory_.set_coherent(ecap_.coherent());
    // Firmware (or a previous boot) may have left remapping on with its own tables.
    uint32_t gsts = read(Reg32::GSTS);
    Status s      = Status::Ok;
    if (gsts & gcmd::IRE) s = command(gcmd::IRE, false);
    if (s == Status::Ok && (gsts & gcmd::TE)) s = command(gcmd::TE, false);
    if (s == Status::Ok && (gsts & gcmd::QIE)) s = command(gcmd::QIE, false);
    if (s != Status::Ok) return s;

    uint64_t root = memory_.alloc_table();
    if (root == 0) return Status::NoMemory;
    root_ = reinterpret_cast<Entry128*>(root);
    write(Reg64::RTADDR, root);  // RTADDR.TTM = 00: legacy root/context format
    if ((s = one_shot(gcmd::SRTP)) != Status::Ok) return s;
    if (use_queue && ecap_.queued_invalidation() && (s = setup_queue()) != Status::Ok) return s;
    if ((s = invalidate_context(Granularity::Global, 0, 0)) != Status::Ok) return s;
    if ((s = invalidate_iotlb(Granularity::Global, 0)) != Status::Ok) return s;
    // Faults are collected by polling drain_faults(): keep the event interrupt masked.
    write(Reg32::FECTL, FECTL_IM);
    write(Reg32::FSTS, fsts::CLEAR_ALL);
    return Status::Ok;
}

unsigned Iommu::domain_levels(bool wide_iova) const {
    if (wide_iova && cap_.supports_levels(4)) return 4;
    if (cap_.supports_levels(3)) return 3;
    return cap_.supports_levels(4) ? 4 : 0;
}

Status Iommu::setup_queue() {
    uint64_t page   = memory_.alloc_table();
    uint64_t status = memory_.alloc_table();
    if (page == 0 || status == 0) return Status::NoMemory;
    queue_       = reinterpret_cast<Entry128*>(page);
    wait_status_ = reinterpret_cast<volatile uint32_t*>(status);
    queue_tail_  = 0;
    write(Reg64::IQT, 0);  // the head resets to 0 when QIE sets; the tail must match
    write(Reg64::IQA, iqa_value(page, 0));
    Status s = command(gcmd::QIE, true);
    queued_  = s == Status::Ok;
    return s;
}

// One descriptor followed by a wait descriptor; completion is the wait
// descriptor's status write (6.5.2.8), bounded by a deadline.
Status Iommu::submit(Entry128 d) {
    uint32_t seq                              = ++wait_sequence_;
    *wait_status_                             = 0;
    queue_[queue_tail_]                       = d;
    queue_[(queue_tail_ + 1) % QUEUE_ENTRIES] = qi_wait(seq, reinterpret_cast<uint64_t>(wait_status_));
    if (!coherent()) {
        flush_range(&queue_[queue_tail_], sizeof(Entry128));
        flush_range(&queue_[(queue_tail_ + 1) % QUEUE_ENTRIES], sizeof(Entry128));
    }
    fence();
    queue_tail_ = (queue_tail_ + 2) % QUEUE_ENTRIES;
    write(Reg64::IQT, iq_offset(queue_tail_));
    bool done       = wait_until(COMMAND_TIMEOUT_US, [&] {
        if (!coherent()) clflush(const_cast<uint32_t*>(wait_status_));
        return *wait_status_ == seq || (read(Reg32::FSTS) & QUEUE_ERRORS) != 0;
    });
    uint32_t errors = read(Reg32::FSTS) & QUEUE_ERRORS;
    if (errors) {
        write(Reg32::FSTS, errors);
        return Status::QueueError;
    }
    return done ? Status::Ok : Status::Timeout;
}

Status Iommu::invalidate_context(Granularity g, uint16_t did, uint16_t sid) {
    if (queued_) return submit(qi_context(g, did, sid));
    Status s = flush_write_buffer();
    if (s != Status::Ok) return s;
    write(Reg64::CCMD, ccmd_value(g, did, sid));
    bool done = wait_until(COMMAND_TIMEOUT_US, [&] { return (read(Reg64::CCMD) & CCMD_ICC) == 0; });
    return done ? Status::Ok : Status::Timeout;
}

Status Iommu::invalidate_iotlb(Granularity g, uint16_t did) {
    if (queued_) return submit(qi_iotlb(g, did));
    uint32_t reg = ecap_.iotlb_offset() + 8;
    write_at(reg, iotlb_value(g, did));
    bool done = wait_until(COMMAND_TIMEOUT_US, [&] { return (read_at(reg) & IOTLB_IVT) == 0; });
    return done ? Status::Ok : Status::Timeout;
}

// The interrupt entry cache has no register interface: IR needs the queue.
Status Iommu::invalidate_iec(int index) {
    if (!queued_) return Status::Unsupported;
    return submit(index < 0 ? qi_iec_global() : qi_iec_index(static_cast<uint16_t>(index)));
}

Entry128* Iommu::context_slot(uint16_t source_id, bool create) {
    Entry128& root = root_[source_id >> 8];
    if (!(root.lo & ENTRY_PRESENT)) {
        if (!create) return nullptr;
        uint64_t table = memory_.alloc_table();
        if (table == 0) return nullptr;
        store_entry(&root, root_entry(table));
    }
    return reinterpret_cast<Entry128*>(root.lo & ENTRY_ADDRESS) + (source_id & 0xff);
}

Status Iommu::attach(uint16_t source_id, const SlDomain& d) {
    if (root_ == nullptr) return Status::NotReady;
    if (!cap_.supports_levels(d.levels()) || d.id() == 0) return Status::BadArgument;
    Entry128* slot = context_slot(source_id, true);
    if (slot == nullptr) return Status::NoMemory;
    store_entry(slot, context_entry(d.slptptr(), d.levels(), d.id()));
    // With caching mode, not-present entries may be cached under domain 0 (6.1).
    uint16_t cc_did = cap_.caching_mode() ? 0 : d.id();
    Status s        = invalidate_context(Granularity::Device, cc_did, source_id);
    if (s != Status::Ok) return s;
    return invalidate_iotlb(Granularity::Domain, d.id());
}

Status Iommu::flush_domain(uint16_t domain_id) {
    Status s = flush_write_buffer();
    if (s != Status::Ok) return s;
    return invalidate_iotlb(Granularity::Domain, domain_id);
}

Status Iommu::enable_translation() {
    if (root_ == nullptr) return Status::NotReady;
    Status s = flush_write_buffer();
    return s == Status::Ok ? command(gcmd::TE, true) : s;
}
bool Iommu::translation_enabled() const { return (read(Reg32::GSTS) & gcmd::TE) != 0; }

void Iommu::enable_fault_event(uint8_t vector, uint32_t apic_id) {
    write(Reg32::FEDATA, vector);
    write(Reg32::FEADDR, 0xfee00000u | (apic_id & 0xffu) << 12);
    write(Reg32::FECTL, 0);  // IM clear: interrupt unmasked
}

size_t Iommu::drain_faults(void (*fn)(void*, const FaultRecord&), void* ctx) {
    size_t seen    = 0;
    uint32_t base  = cap_.fault_recording_offset();
    unsigned count = cap_.fault_recording_count();
    unsigned first = fsts::fault_index(read(Reg32::FSTS)) % count;
    for (unsigned i = 0; i < count; i++) {
        uint32_t off  = base + 16 * ((first + i) % count);
        FaultRecord f = decode_fault(read_at(off), read_at(off + 8));
        if (!f.valid) continue;
        fn(ctx, f);
        write_at(off + 8, FRCD_F);  // F is write-1-to-clear; the other bits are read-only
        seen++;
    }
    write(Reg32::FSTS, fsts::PFO);
    return seen;
}

Status Iommu::enable_interrupt_remapping(unsigned entries_log2, bool eim) {
    if (!ecap_.interrupt_remapping() || (eim && !ecap_.extended_interrupt_mode()) || !queued_)
        return Status::Unsupported;
    if (entries_log2 < 1 || entries_log2 > MAX_IRT_LOG2) return Status::BadArgument;
    uint64_t table = memory_.alloc_table();
    if (table == 0) return Status::NoMemory;
    irt_         = reinterpret_cast<Entry128*>(table);
    irt_entries_ = 1u << entries_log2;
    eim_         = eim;
    write(Reg64::IRTA, irta_value(table, entries_log2, eim));
    Status s = one_shot(gcmd::SIRTP);
    if (s == Status::Ok) s = invalidate_iec(-1);
    if (s == Status::Ok && (read(Reg32::GSTS) & gcmd::CFI)) s = command(gcmd::CFI, false);
    if (s == Status::Ok) s = command(gcmd::IRE, true);
    return s;
}

bool Iommu::interrupt_remapping_enabled() const { return (read(Reg32::GSTS) & gcmd::IRE) != 0; }
bool Iommu::compatibility_format_blocked() const {
    return interrupt_remapping_enabled() && !(read(Reg32::GSTS) & gcmd::CFI);
}

Status Iommu::set_irte(uint16_t index, const IrteSpec& spec) {
    if (irt_ == nullptr) return Status::NotReady;
    if (index >= irt_entries_ || spec.x2apic != eim_) return Status::BadArgument;
    // A live entry whose source-id changes is cleared first, so no request
    // ever sees the new source-id with the old destination or the reverse.
    // With the same upper half (source-id and check), the new vector and
    // destination arrive in one 64-bit store of the lower half (VT-d spec
    // 9.10: software updates an IRTE atomically), and no interrupt is lost.
    Entry128 e = make_irte(spec);
    // The guest rewrites MSI address and data often without changing the
    // vector: an identical entry needs neither a store nor an invalidation.
    if (irt_[index].lo == e.lo && irt_[index].hi == e.hi) return Status::Ok;
    if ((irt_[index].lo & irte::PRESENT) && irt_[index].hi != e.hi) {
        Status s = clear_irte(index);
        if (s != Status::Ok) return s;
    }
    store_entry(&irt_[index], e);
    return invalidate_iec(index);
}

Status Iommu::route_msi(uint16_t index, const IrteSpec& spec, MsiMessage& out) {
    Status s = set_irte(index, spec);
    if (s == Status::Ok) out = remappable_msi(index);
    return s;
}

Status Iommu::clear_irte(uint16_t index) {
    if (irt_ == nullptr) return Status::NotReady;
    if (index >= irt_entries_) return Status::BadArgument;
    store_entry(&irt_[index], Entry128{0, 0});
    return invalidate_iec(index);
}

const char* to_string(Status s) {
    switch (s) {
    case Status::Ok: return "ok";
    case Status::NoMemory: return "out of page-pool memory for remapping tables";
    case Status::Timeout: return "remapping unit did not complete a command before its deadline";
    case Status::QueueError: return "invalidation queue reported an error";
    case Status::Unsupported: return "the remapping unit does not support this";
    case Status::BadArgument: return "argument outside what the unit or table supports";
    case Status::NotReady: return "remapping unit not initialised for this operation";
    }
    return "unknown VT-d status";
}

}  // namespace natsume::x86::vtd
