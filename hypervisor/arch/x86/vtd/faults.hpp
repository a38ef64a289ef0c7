// Fault recording registers (VT-d spec 10.4.14) and fault reason codes
// (7.1.3 / Appendix A, "Non-recoverable fault reason encodings"). Pure.
#pragma once
#include <stdint.h>

namespace natsume::x86::vtd {

struct FaultRecord {
    bool valid;          // F bit (127): write 1 to clear
    uint16_t source_id;  // requester id, bits 79:64
    uint8_t reason;      // FR, bits 103:96
    bool read;           // T bit (126): 1 = read request, 0 = write
    uint64_t address;    // FI, bits 63:12: page of the faulting request (or IRTE index << 48 for IR faults)
};

inline constexpr uint64_t FRCD_F = uint64_t{1} << 63;  // in the high word

constexpr FaultRecord decode_fault(uint64_t lo, uint64_t hi) {
    return FaultRecord{(hi & FRCD_F) != 0, static_cast<uint16_t>(hi), static_cast<uint8_t>(hi >> 32),
                       ((hi >> 62) & 1) != 0, lo & ~uint64_t{0xfff}};
}

// Interrupt-remapping faults (reason >= 0x20) carry the IRTE index in FI bits 63:48.
constexpr bool is_interrupt_fault(uint8_t reason) { return reason >= 0x20 && reason < 0x30; }
constexpr uint16_t interrupt_fault_index(const FaultRecord& f) { return static_cast<uint16_t>(f.address >> 48); }

constexpr const char* fault_reason_text(uint8_t reason) {
    switch (reason) {
    case 0x01: return "root entry not present";
    case 0x02: return "context entry not present";
    case 0x03: return "context entry invalid";
    case 0x04: return "address beyond the domain's address width";
    case 0x05: return "write not permitted by the page tables";
    case 0x06: return "read not permitted by the page tables";
    case 0x07: return "error reading a second-level paging entry";
    case 0x08: return "error reading the root table";
    case 0x09: return "error reading a context table";
    case 0x0a: return "reserved field set in a root entry";
    case 0x0b: return "reserved field set in a context entry";
    case 0x0c: return "reserved field set in a second-level paging entry";
    case 0x0d: return "translation type not allowed by the context entry";
    case 0x20: return "interrupt request with reserved fields";
    case 0x21: return "interrupt index beyond the remapping table";
    case 0x22: return "interrupt remapping entry not present";
    case 0x23: return "error reading the interrupt remapping table";
    case 0x24: return "reserved field set in an interrupt remapping entry";
    case 0x25: return "compatibility-format interrupt blocked";
    case 0x26: return "interrupt source-id verification failed";
    default: return "unknown fault reason";
    }
}

}  // namespace natsume::x86::vtd
