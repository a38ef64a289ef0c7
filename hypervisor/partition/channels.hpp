// Shared-memory channels at run time ([[channel]] in the partition file,
// include/natsume/config_blob.h): the two sides of each channel, the vector
// each side bound for its doorbell, and each side's doorbell rate limit.
//
// Who touches what: a side's bound vector is written by its own core (the
// bind hypercall) and read by the peer's core (the doorbell); its rate bucket
// and its sent/refused counters only by its own core; the peer's received
// counter by the sender's core (atomic). Decisions only: the caller (arch)
// sends the interrupt and logs refusals.
#pragma once
#include <atomic>
#include <stddef.h>
#include <stdint.h>

#include <natsume/config_blob.h>

#include "lib/rate_limit.hpp"
#include "partition/partition.hpp"

namespace natsume::channels {

constexpr uint32_t MAX_CHANNELS = NATSUME_CONFIG_MAX_CHANNELS;
// Fixed vectors a doorbell may carry: 0x00-0x0F are illegal for fixed
// delivery and 0x10-0x1F are reserved for exceptions (SDM Vol. 3A 10.5.2,
// 6.2); 0xFF stays the guest's spurious vector.
constexpr uint64_t MIN_VECTOR = 0x20, MAX_VECTOR = 0xFE;

struct End {
    Partition* part;
    uint64_t gpa;
    std::atomic<uint8_t> vector;  // bound by this side; 0 = none
    rate::Bucket bucket;          // this side's doorbells
};

struct Channel {
    natsume_config_channel cfg;
    End ends[2];  // NATSUME_CHANNEL_FRONTEND, NATSUME_CHANNEL_BACKEND
};

// Records the channels of a blob that passed validate_blob; `parts` holds its
// partitions by index. Clears every bound vector and bucket.
void setup(const natsume_config_channel* cfg, uint32_t count, Partition* parts);
uint32_t count();
const Channel* get(uint32_t id);  // nullptr when id is not a channel

// The side of channel `c` that partition `p` is, or -1.
int side_of(const Channel& c, const Partition& p);

// Where the devices of side `side` reach the channel (natsume_boot_channel.
// dma_address): only the backend of a backend_dma channel; through an IOMMU
// at the gpa its domain maps it at, without one at the host address.
uint64_t device_address(const Channel& c, int side, bool iommu);

// Why a bind or a doorbell was refused.
enum class Refused : uint8_t { None, NoChannel, NotASide, BadVector, Unbound, PeerStopped, RateLimited };
[[nodiscard]] const char* to_string(Refused r);
[[nodiscard]] int64_t error_code(Refused r);  // the NATSUME_E* the guest gets

// NATSUME_HC_CHANNEL_BIND: `vector` 0 unbinds.
[[nodiscard]] Refused bind(const Partition& p, uint64_t id, uint64_t vector);

// NATSUME_HC_DOORBELL at TSC `now` (tsc_khz sets the rate): on None, send
// `vector` to the peer's core `apic_id`; the counters are already updated.
struct Ring {
    Refused refused;
    uint32_t apic_id;
    uint8_t vector;
};
[[nodiscard]] Ring doorbell(Partition& p, uint64_t id, uint64_t now, uint64_t tsc_khz);

}  // namespace natsume::channels
