// A two-partition compiled blob built by hand, independent of natsume-config,
// so validate_blob is tested against the ABI header alone. With channels, each
// joins rt0 (frontend) and gp0 (backend), 2 MiB above 0x0a000000, seen at
// 0x40000000 (+ 2 MiB per channel) by both.
#pragma once
#include <cstring>
#include <vector>

#include "common/crc32.hpp"
#include "natsume/config_blob.h"

namespace natsume::test {

struct Blob {
    // uint64_t storage keeps the header 8-byte aligned.
    std::vector<uint64_t> words;
    size_t size = 0;

    uint32_t partitions = 0;

    explicit Blob(uint32_t partition_count = 2, uint32_t channels = 0) : partitions(partition_count) {
        size = sizeof(natsume_config_header) + partitions * sizeof(natsume_config_partition) +
               channels * sizeof(natsume_config_channel);
        words.assign((size + 7) / 8 + 8, 0);
        auto& h           = header();
        h.magic           = NATSUME_CONFIG_MAGIC;
        h.version         = NATSUME_CONFIG_VERSION;
        h.header_size     = sizeof(natsume_config_header);
        h.partition_size  = sizeof(natsume_config_partition);
        h.partition_count = partitions;
        h.channel_size    = sizeof(natsume_config_channel);
        h.channel_count   = channels;
        h.total_size      = static_cast<uint32_t>(size);
        std::strcpy(h.name, "default");
        for (uint32_t i = 0; i < partitions; ++i) {
            auto& p          = part(i);
            std::string name = i == 0 ? "rt0" : "gp" + std::to_string(i - 1);
            std::strcpy(p.name, name.c_str());
            std::strcpy(p.image, "guest-kernel");
            std::strcpy(p.cmdline, i == 0 ? "role=rt" : "role=gp");
            p.ram_base   = 0x04000000ull + i * 0x02000000ull;
            p.ram_size   = 0x02000000ull;
            p.core_count = 1;
            p.cores[0]   = i + 1;
            p.lapic_mode = NATSUME_LAPIC_PASSTHROUGH;
        }
        for (uint32_t i = 0; i < channels; ++i) {
            auto& c          = chan(i);
            std::string name = "vif" + std::to_string(i);
            std::strcpy(c.name, name.c_str());
            c.base                           = 0x0a000000ull + i * 0x200000ull;
            c.size                           = 0x200000ull;
            c.ends[NATSUME_CHANNEL_FRONTEND] = {0, 0, 0x40000000ull + i * 0x200000ull};
            c.ends[NATSUME_CHANNEL_BACKEND]  = {1, 0, 0x40000000ull + i * 0x200000ull};
        }
        seal();
    }

    natsume_config_header& header() { return *reinterpret_cast<natsume_config_header*>(words.data()); }
    natsume_config_partition& part(uint32_t i) {
        auto* base = reinterpret_cast<uint8_t*>(words.data()) + sizeof(natsume_config_header);
        return reinterpret_cast<natsume_config_partition*>(base)[i];
    }
    natsume_config_channel& chan(uint32_t i) {
        auto* base = reinterpret_cast<uint8_t*>(words.data()) + sizeof(natsume_config_header) +
                     partitions * sizeof(natsume_config_partition);
        return reinterpret_cast<natsume_config_channel*>(base)[i];
    }
    uint8_t* bytes() { return reinterpret_cast<uint8_t*>(words.data()); }

    // Appends a device to partition i (call seal() afterwards).
    natsume_config_device& add_device(uint32_t i, uint16_t bdf, uint32_t gsi = NATSUME_GSI_AUTO,
                                      uint16_t vendor = NATSUME_DEVICE_ANY_ID, uint16_t device = NATSUME_DEVICE_ANY_ID,
                                      uint16_t flags = 0) {
        auto& p = part(i);
        auto& d = p.devices[p.device_count++];
        d       = natsume_config_device{bdf, vendor, device, flags, gsi, 0};
        return d;
    }

    // Recompute the CRC after an edit, so only the edited field is wrong.
    void seal() {
        header().crc32 = 0;
        header().crc32 = natsume::crc32(bytes(), size);
    }
};

}  // namespace natsume::test
