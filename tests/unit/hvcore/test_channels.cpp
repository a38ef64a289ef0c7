// partition/channels: who may bind and ring a channel, what a doorbell sends
// where, and the rate limit, against three partitions and two channels.
#include <catch2/catch.hpp>
#include <cstring>
#include <memory>

#include <natsume/hypercall.h>

#include "partition/channels.hpp"

using namespace natsume;
using channels::Refused;

namespace {

constexpr uint64_t TSC_KHZ = 1000000;  // 1 GHz: 1 ms = 1,000,000 ticks

struct Machine {
    std::unique_ptr<Partition[]> parts{new Partition[3]};
    natsume_config_channel cfg[2]{};

    explicit Machine(uint32_t rate = 0) {
        for (uint32_t i = 0; i < 3; i++) {
            parts[i].config.id      = i;
            parts[i].config.apic_id = 10 + i;
            parts[i].publish_state(PartitionState::Running);
            parts[i].counters.doorbells_sent     = 0;
            parts[i].counters.doorbells_refused  = 0;
            parts[i].counters.doorbells_received = 0;
        }
        // vif0: 0 (frontend) - 1 (backend); vif1: 1 (frontend) - 2 (backend).
        for (uint32_t c = 0; c < 2; c++) {
            std::strcpy(cfg[c].name, c == 0 ? "vif0" : "vif1");
            cfg[c].base          = 0x0a000000 + c * 0x200000;
            cfg[c].size          = 0x200000;
            cfg[c].ends[0]       = {c, 0, 0x40000000};
            cfg[c].ends[1]       = {c + 1, 0, 0x40000000};
            cfg[c].doorbell_rate = rate;
        }
        channels::setup(cfg, 2, parts.get());
    }
    Partition& p(uint32_t i) { return parts[i]; }
};

}  // namespace

TEST_CASE("a side binds its own vector; strangers and illegal vectors are refused", "[channels]") {
    Machine m;
    CHECK(channels::count() == 2);
    CHECK(channels::bind(m.p(0), 0, 0x44) == Refused::None);
    CHECK(channels::bind(m.p(1), 0, 0x45) == Refused::None);
    CHECK(channels::bind(m.p(2), 0, 0x44) == Refused::NotASide);  // partition 2 is on vif1 only
    CHECK(channels::bind(m.p(0), 1, 0x44) == Refused::NotASide);
    CHECK(channels::bind(m.p(0), 2, 0x44) == Refused::NoChannel);
    CHECK(channels::bind(m.p(0), ~0ull, 0x44) == Refused::NoChannel);
    CHECK(channels::bind(m.p(0), 0, 0x1f) == Refused::BadVector);
    CHECK(channels::bind(m.p(0), 0, 0xff) == Refused::BadVector);
    CHECK(channels::bind(m.p(0), 0, 0x144) == Refused::BadVector);  // no truncation to 0x44
    CHECK(channels::bind(m.p(0), 0, 0) == Refused::None);           // unbinds
    CHECK(channels::error_code(Refused::NotASide) == NATSUME_ENOENT);
    CHECK(channels::error_code(Refused::BadVector) == NATSUME_EINVAL);
    CHECK(channels::error_code(Refused::Unbound) == NATSUME_ENOTCONN);
    CHECK(channels::error_code(Refused::RateLimited) == NATSUME_EAGAIN);
}

TEST_CASE("a doorbell goes to the peer's core with the peer's vector, and is counted on both sides", "[channels]") {
    Machine m;
    REQUIRE(channels::bind(m.p(1), 0, 0x45) == Refused::None);
    channels::Ring r = channels::doorbell(m.p(0), 0, 1000, TSC_KHZ);
    CHECK(r.refused == Refused::None);
    CHECK(r.apic_id == 11);
    CHECK(r.vector == 0x45);
    CHECK(m.p(0).counters.doorbells_sent == 1);
    CHECK(m.p(1).counters.doorbells_received.load() == 1);
    // The other way round: partition 0 has bound nothing.
    r = channels::doorbell(m.p(1), 0, 1000, TSC_KHZ);
    CHECK(r.refused == Refused::Unbound);
    CHECK(m.p(1).counters.doorbells_refused == 1);
    CHECK(m.p(0).counters.doorbells_received.load() == 0);
    // A stranger cannot ring, whatever the peer bound.
    CHECK(channels::doorbell(m.p(2), 0, 1000, TSC_KHZ).refused == Refused::NotASide);
    CHECK(channels::doorbell(m.p(0), 7, 1000, TSC_KHZ).refused == Refused::NoChannel);
    CHECK(m.p(1).counters.doorbells_received.load() == 1);
}

TEST_CASE("a stopped peer gets no doorbell", "[channels]") {
    Machine m;
    REQUIRE(channels::bind(m.p(1), 0, 0x45) == Refused::None);
    m.p(1).publish_state(PartitionState::Stopped);
    CHECK(channels::doorbell(m.p(0), 0, 1000, TSC_KHZ).refused == Refused::PeerStopped);
    CHECK(m.p(1).counters.doorbells_received.load() == 0);
}

TEST_CASE("the rate limit lets a burst through, then the channel's rate", "[channels]") {
    Machine m(1000);  // 1000 a second: one token per ms at 1 GHz
    REQUIRE(channels::bind(m.p(1), 0, 0x45) == Refused::None);
    uint64_t now = 5, sent = 0;
    for (int i = 0; i < 1000; i++) sent += channels::doorbell(m.p(0), 0, now, TSC_KHZ).refused == Refused::None;
    CHECK(sent == NATSUME_CHANNEL_DOORBELL_BURST);
    CHECK(m.p(0).counters.doorbells_refused == 1000 - NATSUME_CHANNEL_DOORBELL_BURST);
    now += 10 * 1000000;  // 10 ms later: 10 more
    sent = 0;
    for (int i = 0; i < 100; i++) sent += channels::doorbell(m.p(0), 0, now, TSC_KHZ).refused == Refused::None;
    CHECK(sent == 10);
    // Each side has its own bucket: the peer can still answer.
    REQUIRE(channels::bind(m.p(0), 0, 0x44) == Refused::None);
    CHECK(channels::doorbell(m.p(1), 0, now, TSC_KHZ).refused == Refused::None);
}

TEST_CASE("only a backend_dma channel's backend is told a device address, by the IOMMU's presence", "[channels]") {
    Machine m;
    const channels::Channel& plain = *channels::get(0);
    CHECK(channels::device_address(plain, NATSUME_CHANNEL_BACKEND, true) == 0);
    CHECK(channels::device_address(plain, NATSUME_CHANNEL_BACKEND, false) == 0);
    m.cfg[1].flags = NATSUME_CHANNEL_BACKEND_DMA;
    channels::setup(m.cfg, 2, m.parts.get());
    const channels::Channel& dma = *channels::get(1);
    CHECK(channels::device_address(dma, NATSUME_CHANNEL_BACKEND, true) == 0x40000000);   // its gpa in the domain
    CHECK(channels::device_address(dma, NATSUME_CHANNEL_BACKEND, false) == 0x0a200000);  // no IOMMU: host address
    CHECK(channels::device_address(dma, NATSUME_CHANNEL_FRONTEND, true) == 0);
    CHECK(channels::device_address(dma, NATSUME_CHANNEL_FRONTEND, false) == 0);
}
