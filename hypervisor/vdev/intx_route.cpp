#include "intx_route.hpp"

namespace natsume::intx {
namespace {

bool input_ok(const Device* devices, size_t count) {
    if (count > MAX_DEVICES_PER_LINE || (count != 0 && devices == nullptr)) return false;
    for (size_t i = 0; i < count; ++i)
        if (devices[i].owner >= MAX_PARTITIONS) return false;
    return true;
}

uint64_t owner_bit(const Device& d) { return 1ull << d.owner; }

}  // namespace

bool line_is_shared(const Device* devices, size_t count) {
    if (!input_ok(devices, count)) return false;
    for (size_t i = 1; i < count; ++i)
        if (devices[i].owner != devices[0].owner) return true;
    return false;
}

Route route_for(const Device* devices, size_t count) {
    if (!input_ok(devices, count)) return Route::Invalid;
    if (count == 0) return Route::Unused;
    return line_is_shared(devices, count) ? Route::PerDevice : Route::Direct;
}

Decision decide(const Device* devices, size_t count, Unknown unknown) {
    Decision d{};
    if (!input_ok(devices, count)) return d;
    d.valid          = true;
    uint64_t told    = 0;  // owners with a device that reported asserting
    uint64_t guessed = 0;
    for (size_t i = 0; i < count; ++i) {
        const Device& dev  = devices[i];
        const uint32_t bit = 1u << i;
        if (!dev.status_bit3_supported) {
            d.unknown |= bit;
            guessed |= owner_bit(dev);
        } else if (dev.status_bit3_value) {
            d.asserted |= bit;
            told |= owner_bit(dev);
        }
    }
    if (unknown == Unknown::ByElimination && d.asserted != 0) guessed = 0;
    d.owners         = told | guessed;
    d.could_not_tell = (guessed & ~told) != 0;
    d.spurious       = d.owners == 0;
    return d;
}

const char* to_string(Route r) {
    switch (r) {
    case Route::Unused: return "unused";
    case Route::Direct: return "direct";
    case Route::PerDevice: return "per-device";
    case Route::Invalid: return "invalid";
    }
    return "unknown";
}

}  // namespace natsume::intx
