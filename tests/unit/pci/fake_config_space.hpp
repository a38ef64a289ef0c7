// A fake PCI configuration space for host tests: functions hold 4 KiB of
// registers with per-bit writable and RW1C masks, BARs decode like hardware
// (address bits above the size are writable, the type bits are fixed), absent
// functions read as all ones, and every write is logged.
#pragma once
#include <array>
#include <cstdint>
#include <map>
#include <vector>

#include "lib/pci.hpp"

namespace natsume::test {

struct FakeFunction {
    std::array<uint32_t, 1024> regs{};
    std::array<uint32_t, 1024> writable{};
    std::array<uint32_t, 1024> rw1c{};
};

struct ConfigWrite {
    uint16_t bdf, offset;
    uint32_t value;
};

class FakeConfigSpace {
public:
    // A function with IDs, class and header type byte (multi-function bit included).
    void add(uint16_t bdf, uint16_t vendor, uint16_t device, uint8_t cls, uint8_t sub, uint8_t header = 0);
    void set32(uint16_t bdf, uint16_t offset, uint32_t value);
    void set16(uint16_t bdf, uint16_t offset, uint16_t value);
    void set8(uint16_t bdf, uint16_t offset, uint8_t value);
    uint32_t get32(uint16_t bdf, uint16_t offset) const;
    uint16_t get16(uint16_t bdf, uint16_t offset) const;
    uint8_t get8(uint16_t bdf, uint16_t offset) const;
    // Marks bits of the dword at offset writable / write-1-to-clear.
    void writable(uint16_t bdf, uint16_t offset, uint32_t mask);
    void rw1c(uint16_t bdf, uint16_t offset, uint32_t mask);
    // A memory BAR (32- or 64-bit) or I/O BAR at slot, placed at base.
    void mem_bar(uint16_t bdf, int slot, uint64_t base, uint64_t size, bool is64, bool prefetchable);
    void io_bar(uint16_t bdf, int slot, uint32_t base, uint32_t size);
    // Appends a capability at offset: links it after the last one added and
    // sets the Status capability-list bit.
    void cap(uint16_t bdf, uint8_t offset, uint8_t id, uint16_t reg = 0);
    void irq(uint16_t bdf, uint8_t line, uint8_t pin);
    // A type 1 header with the given bus numbers.
    void bridge(uint16_t bdf, uint8_t primary, uint8_t secondary, uint8_t subordinate);

    pci::ConfigAccess access() { return pci::ConfigAccess{&read32, &write32, this}; }
    bool has(uint16_t bdf) const { return fns_.count(bdf) != 0; }

    std::vector<ConfigWrite> writes;
    std::vector<ConfigWrite> writes_to(uint16_t bdf) const;

private:
    static uint32_t read32(void* ctx, uint16_t bdf, uint16_t offset);
    static void write32(void* ctx, uint16_t bdf, uint16_t offset, uint32_t value);

    std::map<uint16_t, FakeFunction> fns_;
    std::map<uint16_t, uint8_t> last_cap_;
};

}  // namespace natsume::test
