// A token bucket on the TSC: how often a partition may make the hypervisor
// print. Pure arithmetic (host-tested); the caller supplies the time.
#pragma once
#include <stdint.h>

namespace natsume::rate {

struct Bucket {
    uint64_t tokens;    // available now, at most burst
    uint64_t last_tsc;  // when tokens was last refilled
    bool started;
};

struct Limit {
    uint64_t burst;            // tokens a quiet partition has saved up
    uint64_t ticks_per_token;  // TSC ticks per refilled token (>= 1)
};

// Refills for the time since the last call, then takes n tokens if there
// are that many. Time going backwards (another core's TSC) refills nothing.
[[nodiscard]] inline bool take(Bucket& b, const Limit& l, uint64_t now, uint64_t n) {
    if (!b.started) { b = {l.burst, now, true}; }
    if (now > b.last_tsc) {
        uint64_t per    = l.ticks_per_token ? l.ticks_per_token : 1;
        uint64_t earned = (now - b.last_tsc) / per;
        if (earned) {
            b.tokens = earned >= l.burst - b.tokens ? l.burst : b.tokens + earned;
            b.last_tsc += earned * per;  // keep the remainder for the next call
        }
    }
    if (b.tokens < n) return false;
    b.tokens -= n;
    return true;
}

// ticks_per_token for `per_second` tokens a second at tsc_khz (>= 1).
constexpr uint64_t ticks_per_token(uint64_t tsc_khz, uint64_t per_second) {
    uint64_t t = per_second ? tsc_khz * 1000 / per_second : tsc_khz * 1000;
    return t ? t : 1;
}

}  // namespace natsume::rate
