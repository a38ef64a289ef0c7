// Cache invalidation commands in both forms the hardware offers: the
// register-based context command / IOTLB registers (10.4.7, 10.4.8) and the
// 128-bit queued-invalidation descriptors (6.5.2). Pure encodings.
#pragma once
#include <stdint.h>

#include "arch/x86/vtd/tables.hpp"

namespace natsume::x86::vtd {

enum class Granularity : uint8_t { Global = 1, Domain = 2, Device = 3 };

// CCMD (10.4.7): ICC bit 63 starts and stays set until done, CIRG bits 62:61,
// SID 31:16, DID 15:0, FM 33:32 (function mask, 0 = exact).
inline constexpr uint64_t CCMD_ICC = uint64_t{1} << 63;
constexpr uint64_t ccmd_value(Granularity g, uint16_t did, uint16_t sid) {
    return CCMD_ICC | uint64_t(g) << 61 | uint64_t(sid) << 16 | did;
}

// IOTLB invalidate register (10.4.8.1): IVT bit 63, IIRG bits 61:60 (1 global,
// 2 domain, 3 page), DR/DW bits 49/48 (drain reads/writes), DID 47:32.
inline constexpr uint64_t IOTLB_IVT = uint64_t{1} << 63;
constexpr uint64_t iotlb_value(Granularity g, uint16_t did) {
    return IOTLB_IVT | uint64_t(g) << 60 | uint64_t{3} << 48 | uint64_t(did) << 32;
}

// Queued-invalidation descriptor types (6.5.2).
namespace qi {
inline constexpr uint64_t CONTEXT = 1, IOTLB = 2, IEC = 4, WAIT = 5;
inline constexpr uint64_t WAIT_SW  = uint64_t{1} << 5;  // write status data when done
inline constexpr uint64_t WAIT_FN  = uint64_t{1} << 6;  // fence: later descriptors wait
inline constexpr uint64_t IOTLB_DR = uint64_t{1} << 7, IOTLB_DW = uint64_t{1} << 6;
}  // namespace qi

constexpr Entry128 qi_context(Granularity g, uint16_t did, uint16_t sid) {
    return {qi::CONTEXT | uint64_t(g) << 4 | uint64_t(did) << 16 | uint64_t(sid) << 32, 0};
}
constexpr Entry128 qi_iotlb(Granularity g, uint16_t did) {
    // Page granularity would need an address in the high word; not used.
    return {qi::IOTLB | qi::IOTLB_DR | qi::IOTLB_DW | uint64_t(g) << 4 | uint64_t(did) << 16, 0};
}
// Interrupt entry cache: global (G=0) or one index (G=1, IIDX bits 47:32, IM 31:27 = 0).
constexpr Entry128 qi_iec_global() { return {qi::IEC, 0}; }
constexpr Entry128 qi_iec_index(uint16_t index) { return {qi::IEC | uint64_t{1} << 4 | uint64_t(index) << 32, 0}; }
// Wait descriptor: writes `data` to the 4-byte aligned `status_address` once
// every earlier descriptor has completed.
constexpr Entry128 qi_wait(uint32_t data, uint64_t status_address) {
    return {qi::WAIT | qi::WAIT_SW | qi::WAIT_FN | uint64_t(data) << 32, status_address & ~uint64_t{3}};
}

// IQA (10.4.24): queue base, descriptor width 0 (128-bit), QS = log2(pages).
constexpr uint64_t iqa_value(uint64_t base, unsigned pages_log2) { return (base & ENTRY_ADDRESS) | pages_log2; }
// IQT/IQH hold the byte offset of a 128-bit descriptor (bits 18:4).
constexpr uint64_t iq_offset(uint32_t index) { return uint64_t(index) << 4; }

}  // namespace natsume::x86::vtd
