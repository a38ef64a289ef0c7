#include "icr_filter.hpp"

namespace natsume::icr {
namespace {
namespace reg = drivers::lapic::icr;

// Vectors 0..15 are illegal for fixed IPIs (SDM Vol. 3A 10.5.3, "Send Illegal Vector").
constexpr uint8_t FIRST_LEGAL_VECTOR = 16;

// The fields both ICR forms share in their low 32 bits.
struct Fields {
    uint8_t vector;
    DeliveryMode mode;
    bool logical;
    Shorthand shorthand;
    uint32_t destination;
    uint32_t broadcast_id;
};

Fields fields(uint64_t low, uint32_t destination, uint32_t broadcast_id) {
    const drivers::lapic::Icr c{low};
    return {c.vector(), c.mode(), c.logical(), c.shorthand(), destination, broadcast_id};
}

constexpr Verdict refuse(Reason reason, const char* why) { return {false, why, reason}; }

Verdict refuse_mode(DeliveryMode mode) {
    switch (mode) {
    case DeliveryMode::Fixed: break;
    case DeliveryMode::LowestPriority:
        return refuse(Reason::NotFixed, "lowest-priority arbitration may pick a core of another partition");
    case DeliveryMode::Smi:
        return refuse(Reason::NotFixed, "an SMI would put a core into firmware's system management mode");
    case DeliveryMode::Nmi:
        return refuse(Reason::NotFixed, "NMIs are the hypervisor's control path to partition cores");
    case DeliveryMode::Init: return refuse(Reason::NotFixed, "INIT would reset a core");
    case DeliveryMode::Startup:
        return refuse(Reason::NotFixed, "a start-up IPI would restart a core at a guest-chosen address");
    case DeliveryMode::Reserved3:
    case DeliveryMode::Reserved7: return refuse(Reason::NotFixed, "reserved delivery mode");
    }
    return {true, "fixed IPI", Reason::Allowed};
}

// The first index of apic_id in the partition's list, or p.count.
size_t index_of(const Partition& p, uint32_t apic_id) {
    if (p.apic_ids == nullptr) return p.count;
    for (size_t i = 0; i < p.count; ++i)
        if (p.apic_ids[i] == apic_id) return i;
    return p.count;
}

bool owned(const Partition& p, uint32_t apic_id) { return index_of(p, apic_id) < p.count; }

// All-including/excluding-self scoped to the partition: the shorthand itself
// would reach every core of the machine, the hypervisor's and other
// partitions' (SDM Vol. 3A 10.6.1), so the caller sends one fixed IPI per core.
Verdict fan_out(const Partition& p, bool include_self) {
    if (p.apic_ids == nullptr || p.count > MAX_FANOUT || !owned(p, p.self))
        return refuse(Reason::Broadcast,
                      "the partition's core list cannot scope the broadcast (the writing core is not in it, or it "
                      "is too long): it would reach other partitions and the hypervisor");
    Verdict v{true, "broadcast sent as fixed IPIs to the partition's cores", Reason::PartitionBroadcast};
    for (size_t i = 0; i < p.count; ++i) {
        const uint32_t id = p.apic_ids[i];
        if (index_of(p, id) != i || (id == p.self && !include_self)) continue;
        v.fanout |= 1u << i;
    }
    if (v.fanout == 0) v.why = "broadcast to the partition's other cores: it has none, nothing is sent";
    return v;
}

Verdict check(const Fields& f, const Partition& p) {
    if (Verdict v = refuse_mode(f.mode); !v.allow) return v;
    if (f.vector < FIRST_LEGAL_VECTOR) return refuse(Reason::IllegalVector, "vectors 0-15 are illegal for fixed IPIs");
    switch (f.shorthand) {
    case Shorthand::Self: return {true, "fixed IPI to self", Reason::Allowed};
    case Shorthand::AllIncludingSelf: return fan_out(p, true);
    case Shorthand::AllExcludingSelf: return fan_out(p, false);
    case Shorthand::None: break;
    }
    if (f.logical)
        return refuse(Reason::LogicalMode, "logical destinations are set by each core and may name other partitions");
    if (f.destination == f.broadcast_id)
        return refuse(Reason::Broadcast, "a broadcast reaches cores of other partitions and the hypervisor");
    if (!owned(p, f.destination))
        return refuse(Reason::ForeignDestination, "the destination core belongs to another partition");
    return {true, "fixed IPI to a core of the partition", Reason::Allowed};
}

}  // namespace

Verdict check_x2apic(uint64_t icr, const Partition& p) {
    if (icr & reg::X2APIC_RESERVED)
        return refuse(Reason::ReservedBits, "reserved ICR bits set: the write raises #GP in the guest");
    return check(fields(icr, drivers::lapic::Icr{icr}.x2apic_destination(), reg::X2APIC_BROADCAST), p);
}

Verdict check_xapic(uint32_t low, uint32_t high, const Partition& p) {
    // xAPIC physical destination: ICR bits 63:56, i.e. bits 31:24 of the high dword.
    return check(fields(low, drivers::lapic::Icr::xapic_destination(high), reg::XAPIC_BROADCAST), p);
}

}  // namespace natsume::icr
