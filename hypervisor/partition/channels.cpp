#include "partition/channels.hpp"

#include <natsume/hypercall.h>

namespace natsume::channels {
namespace {

constinit Channel table[MAX_CHANNELS]{};
constinit uint32_t channel_count = 0;

}  // namespace

void setup(const natsume_config_channel* cfg, uint32_t n, Partition* parts) {
    channel_count = n < MAX_CHANNELS ? n : MAX_CHANNELS;
    for (uint32_t i = 0; i < channel_count; i++) {
        Channel& c = table[i];
        c.cfg      = cfg[i];
        for (uint32_t side = 0; side < 2; side++) {
            End& e   = c.ends[side];
            e.part   = &parts[c.cfg.ends[side].partition];
            e.gpa    = c.cfg.ends[side].gpa;
            e.bucket = rate::Bucket{};
            e.vector.store(0, std::memory_order_relaxed);
        }
    }
}

uint32_t count() { return channel_count; }

const Channel* get(uint32_t id) { return id < channel_count ? &table[id] : nullptr; }

int side_of(const Channel& c, const Partition& p) {
    for (int side = 0; side < 2; side++)
        if (c.ends[side].part == &p) return side;
    return -1;
}

uint64_t device_address(const Channel& c, int side, bool iommu) {
    if (side != NATSUME_CHANNEL_BACKEND || !(c.cfg.flags & NATSUME_CHANNEL_BACKEND_DMA)) return 0;
    return iommu ? c.ends[side].gpa : c.cfg.base;
}

const char* to_string(Refused r) {
    switch (r) {
    case Refused::None: return "accepted";
    case Refused::NoChannel: return "no such channel";
    case Refused::NotASide: return "the caller is not a side of the channel";
    case Refused::BadVector: return "vector outside 0x20-0xfe";
    case Refused::Unbound: return "the peer has bound no vector";
    case Refused::PeerStopped: return "the peer has stopped";
    case Refused::RateLimited: return "over the doorbell rate limit";
    }
    return "unknown";
}

int64_t error_code(Refused r) {
    switch (r) {
    case Refused::None: return NATSUME_OK;
    case Refused::NoChannel:
    case Refused::NotASide: return NATSUME_ENOENT;
    case Refused::BadVector: return NATSUME_EINVAL;
    case Refused::Unbound:
    case Refused::PeerStopped: return NATSUME_ENOTCONN;
    case Refused::RateLimited: return NATSUME_EAGAIN;
    }
    return NATSUME_EINVAL;
}

Refused bind(const Partition& p, uint64_t id, uint64_t vector) {
    if (id >= channel_count) return Refused::NoChannel;
    Channel& c = table[id];
    int side   = side_of(c, p);
    if (side < 0) return Refused::NotASide;
    if (vector != 0 && (vector < MIN_VECTOR || vector > MAX_VECTOR)) return Refused::BadVector;
    // Release: whatever the side set up for its handler is visible to a peer
    // that sees the vector.
    c.ends[side].vector.store(static_cast<uint8_t>(vector), std::memory_order_release);
    return Refused::None;
}

Ring doorbell(Partition& p, uint64_t id, uint64_t now, uint64_t tsc_khz) {
    Ring r{Refused::None, 0, 0};
    const Channel* known = id < channel_count ? &table[id] : nullptr;
    int side             = known ? side_of(*known, p) : -1;
    if (!known)
        r.refused = Refused::NoChannel;
    else if (side < 0)
        r.refused = Refused::NotASide;
    if (r.refused != Refused::None) {
        p.counters.doorbells_refused++;
        return r;
    }
    Channel& c          = table[id];
    End& self           = c.ends[side];
    const End& peer     = c.ends[1 - side];
    uint8_t vector      = peer.vector.load(std::memory_order_acquire);
    uint64_t per_second = c.cfg.doorbell_rate ? c.cfg.doorbell_rate : NATSUME_CHANNEL_DOORBELL_RATE;
    rate::Limit lim{NATSUME_CHANNEL_DOORBELL_BURST, rate::ticks_per_token(tsc_khz, per_second)};
    if (vector == 0)
        r.refused = Refused::Unbound;
    else if (peer.part->observe_state() == PartitionState::Stopped)
        r.refused = Refused::PeerStopped;
    else if (!rate::take(self.bucket, lim, now, 1))
        r.refused = Refused::RateLimited;
    if (r.refused != Refused::None) {
        p.counters.doorbells_refused++;
        return r;
    }
    r.apic_id = peer.part->config.apic_id;
    r.vector  = vector;
    p.counters.doorbells_sent++;
    peer.part->counters.doorbells_received.fetch_add(1, std::memory_order_relaxed);
    return r;
}

}  // namespace natsume::channels
