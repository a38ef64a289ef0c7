// A learning Ethernet bridge's forwarding table (IEEE 802.1D in its simplest
// form): the port a source address was last seen on, found again for a frame
// to that address; unknown, group and broadcast addresses go to every other
// port. Fixed size, oldest entry replaced, no allocation; pure, host-tested.
// The netback of a partition that owns a NIC bridges its vifs and the NIC.
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace natsume::drivers::net {

inline constexpr uint8_t FLOOD = 0xff;  // forward to every port but the one it came in on

template <size_t ENTRIES>
class MacTable {
public:
    // Records that `mac` (a frame's source) is behind `port`. Group
    // addresses (bit 0 of the first byte) are never sources; they are ignored.
    void learn(const uint8_t* mac, uint8_t port) {
        if (mac[0] & 1) return;
        Entry* e = find(mac);
        if (!e) {
            e     = &entries_[next_];
            next_ = (next_ + 1) % ENTRIES;
            for (int i = 0; i < 6; i++) e->mac[i] = mac[i];
            e->used = true;
        }
        e->port = port;
    }
    // Where a frame to `mac` goes: a learned port, or FLOOD.
    uint8_t lookup(const uint8_t* mac) const {
        if (mac[0] & 1) return FLOOD;
        const Entry* e = const_cast<MacTable*>(this)->find(mac);
        return e ? e->port : FLOOD;
    }

private:
    struct Entry {
        uint8_t mac[6];
        uint8_t port;
        bool used;
    };
    Entry* find(const uint8_t* mac) {
        for (Entry& e : entries_) {
            if (!e.used) continue;
            bool same = true;
            for (int i = 0; i < 6 && same; i++) same = e.mac[i] == mac[i];
            if (same) return &e;
        }
        return nullptr;
    }
    Entry entries_[ENTRIES] = {};
    size_t next_            = 0;
};

}  // namespace natsume::drivers::net
