#include "validate.hpp"

#include "../bdf.hpp"
#include "../crc32.hpp"
#include "../range.hpp"
#include "../text.hpp"
#include "natsume/bootinfo.h"

namespace natsume::config {

namespace {

constexpr uint64_t MI_B        = 1024 * 1024;
constexpr uint32_t MAX_APIC_ID = 256;  // xAPIC IDs are 8 bits (SDM Vol. 3A, 11.4.6)

using Part = natsume_config_partition;
using Chan = natsume_config_channel;

Text start(Report& r) { return Text(r.text, sizeof r.text); }

// "partition 'rt0': " once the name is known to be printable, else "partition 2: ".
Text start_named(Report& r, const char* kind, const char* name, uint32_t index, bool name_ok) {
    Text t = start(r);
    t.str(kind).ch(' ');
    if (name_ok)
        t.ch('\'').str(name).str("': ");
    else
        t.dec(index).str(": ");
    return t;
}

Text start_part(Report& r, const Part& p, uint32_t index, bool name_ok = true) {
    return start_named(r, "partition", p.name, index, name_ok);
}

Text& ram_range(Text& t, uint64_t base, uint64_t size) { return t.hex(base).ch('+').hex(size); }

bool fail(Text&) { return false; }

// ---- header -------------------------------------------------------------

bool check_header_sizes(const natsume_config_header& h, size_t size, Report& r) {
    Text t = start(r);
    if (h.header_size != sizeof(natsume_config_header))
        return fail(t.str("header_size is ")
                        .dec(h.header_size)
                        .str(", expected ")
                        .dec(sizeof(natsume_config_header))
                        .str(": the file comes from an incompatible natsume-config; recompile it"));
    if (h.partition_size != sizeof(Part))
        return fail(t.str("partition_size is ")
                        .dec(h.partition_size)
                        .str(", expected ")
                        .dec(sizeof(Part))
                        .str(": the file comes from an incompatible natsume-config; recompile it"));
    if (h.partition_count < 1 || h.partition_count > NATSUME_CONFIG_MAX_PARTITIONS)
        return fail(t.str("partition_count is ")
                        .dec(h.partition_count)
                        .str("; a partition file describes 1 to ")
                        .dec(NATSUME_CONFIG_MAX_PARTITIONS)
                        .str(" partitions"));
    if (h.channel_size != sizeof(Chan))
        return fail(t.str("channel_size is ")
                        .dec(h.channel_size)
                        .str(", expected ")
                        .dec(sizeof(Chan))
                        .str(": the file comes from an incompatible natsume-config; recompile it"));
    if (h.channel_count > NATSUME_CONFIG_MAX_CHANNELS)
        return fail(t.str("channel_count is ")
                        .dec(h.channel_count)
                        .str("; a partition file describes at most ")
                        .dec(NATSUME_CONFIG_MAX_CHANNELS)
                        .str(" channels"));
    uint64_t expected = sizeof(natsume_config_header) + uint64_t{h.partition_count} * sizeof(Part) +
                        uint64_t{h.channel_count} * sizeof(Chan);
    if (h.total_size != expected)
        return fail(t.str("total_size is ")
                        .dec(h.total_size)
                        .str(" but the header, ")
                        .dec(h.partition_count)
                        .str(" partitions and ")
                        .dec(h.channel_count)
                        .str(" channels take ")
                        .dec(expected)
                        .str(" bytes; the file is corrupt, recompile it"));
    if (h.total_size > size)
        return fail(t.str("total_size is ")
                        .dec(h.total_size)
                        .str(" but only ")
                        .dec(size)
                        .str(" bytes were loaded; the file is truncated, copy it again"));
    return true;
}

bool check_crc(const natsume_config_header& h, Report& r) {
    // The CRC covers the whole blob with its own field read as zero.
    const auto* bytes     = reinterpret_cast<const uint8_t*>(&h);
    constexpr size_t at   = __builtin_offsetof(natsume_config_header, crc32);
    const uint8_t zero[4] = {0, 0, 0, 0};
    uint32_t crc          = crc32(bytes, at);
    crc                   = crc32(zero, sizeof zero, crc);
    crc                   = crc32(bytes + at + 4, h.total_size - at - 4, crc);
    if (crc == h.crc32) return true;
    Text t = start(r);
    return fail(t.str("crc32 is ")
                    .hex(h.crc32)
                    .str(" but the contents give ")
                    .hex(crc)
                    .str("; the file is corrupt, recompile it"));
}

bool check_header(const void* blob, size_t size, Report& r) {
    Text t = start(r);
    if (size < sizeof(natsume_config_header))
        return fail(t.str("compiled partition file is ")
                        .dec(size)
                        .str(" bytes, smaller than its ")
                        .dec(sizeof(natsume_config_header))
                        .str("-byte header; recompile it"));
    if (reinterpret_cast<uintptr_t>(blob) % alignof(natsume_config_header) != 0)
        return fail(t.str("compiled partition file is not 8-byte aligned in memory; copy it to an aligned buffer"));
    const auto& h = *static_cast<const natsume_config_header*>(blob);
    if (h.magic != NATSUME_CONFIG_MAGIC)
        return fail(t.str("magic is ")
                        .hex(h.magic)
                        .str(", not ")
                        .hex(NATSUME_CONFIG_MAGIC)
                        .str(" (\"ANTUSCFG\"): this is not a compiled partition file"));
    if (h.version != NATSUME_CONFIG_VERSION)
        return fail(t.str("version is ")
                        .dec(h.version)
                        .str(" but this build reads version ")
                        .dec(NATSUME_CONFIG_VERSION)
                        .str("; recompile the file with a matching natsume-config"));
    if (!check_header_sizes(h, size, r) || !check_crc(h, r)) return false;
    size_t n = bounded_strlen(h.name, sizeof h.name);
    if (n == sizeof h.name)
        return fail(t.str("machine name is not NUL-terminated within ").dec(sizeof h.name).str(" bytes"));
    if (n == 0) return fail(t.str("machine name is empty; give the file a name"));
    return true;
}

// ---- one partition --------------------------------------------------------

bool name_char_ok(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'; }

bool check_name(const Part& p, uint32_t i, Report& r) {
    size_t n = bounded_strlen(p.name, sizeof p.name);
    Text t   = start_part(r, p, i, false);
    if (n == sizeof p.name) return fail(t.str("name is not NUL-terminated within ").dec(sizeof p.name).str(" bytes"));
    if (n == 0) return fail(t.str("name is empty; give each partition a name made of a-z, 0-9, '_' and '-'"));
    for (size_t k = 0; k < n; ++k) {
        if (!name_char_ok(p.name[k]))
            return fail(t.str("name has the character code ")
                            .dec(static_cast<uint8_t>(p.name[k]))
                            .str(" at offset ")
                            .dec(k)
                            .str("; use only a-z, 0-9, '_' and '-'"));
    }
    return true;
}

bool check_strings(const Part& p, uint32_t i, Report& r) {
    Text t   = start_part(r, p, i);
    size_t n = bounded_strlen(p.image, sizeof p.image);
    if (n == sizeof p.image)
        return fail(t.str("image is not NUL-terminated within ").dec(sizeof p.image).str(" bytes"));
    if (n == 0) return fail(t.str("image is empty; name the guest image module to boot"));
    if (bounded_strlen(p.cmdline, sizeof p.cmdline) == sizeof p.cmdline)
        return fail(t.str("cmdline is not NUL-terminated within ").dec(sizeof p.cmdline).str(" bytes"));
    size_t initramfs = bounded_strlen(p.initramfs, sizeof p.initramfs);
    if (initramfs == sizeof p.initramfs)
        return fail(t.str("initramfs is not NUL-terminated within ").dec(sizeof p.initramfs).str(" bytes"));
    if (initramfs != 0 && p.kind != NATSUME_KIND_LINUX)
        return fail(t.str("names an initramfs, but only a Linux partition (kind linux) boots one"));
    return true;
}

// What the partition boots: an ELF guest kernel, or Linux with room to decompress.
bool check_kind(const Part& p, uint32_t i, Report& r) {
    Text t = start_part(r, p, i);
    if (p.kind != NATSUME_KIND_NATSUME && p.kind != NATSUME_KIND_LINUX)
        return fail(t.str("kind is ").dec(p.kind).str("; only 0 (natsume) and 1 (linux) are defined"));
    if (p.kind != NATSUME_KIND_LINUX) return true;
    // Its main memory: the DMA window when it has one (linux_boot::main_memory), else its RAM.
    if (p.dma_size == 0 && p.ram_size < NATSUME_LINUX_RAM_MIN)
        return fail(t.str("is a Linux partition with ")
                        .dec(p.ram_size >> 20)
                        .str(" MiB of RAM; Linux needs at least ")
                        .dec(NATSUME_LINUX_RAM_MIN >> 20)
                        .str(" MiB to decompress and start"));
    if (p.dma_size != 0 && p.dma_size < NATSUME_LINUX_RAM_MIN)
        return fail(t.str("is a Linux partition with a ")
                        .dec(p.dma_size >> 20)
                        .str(" MiB dma window; its memory above 1 MiB is that window, and Linux needs at least ")
                        .dec(NATSUME_LINUX_RAM_MIN >> 20)
                        .str(" MiB to decompress and start"));
    if (p.dma_size != 0 && (p.dma_base >= NATSUME_LINUX_MAIN_END || p.dma_size > NATSUME_LINUX_MAIN_END - p.dma_base))
        return fail(ram_range(t.str("is a Linux partition with its dma window at "), p.dma_base, p.dma_size)
                        .str("; it must end at or below ")
                        .hex(NATSUME_LINUX_MAIN_END)
                        .str(", the end of the write-back memory its boot page tables map"));
    return true;
}

// The project's kernel runs on one core; a Linux partition boots on its first
// core and starts the others through the MADT's wake-up mailbox.
bool check_core_count(const Part& p, Text& t) {
    if (p.core_count == 0) return fail(t.str("has no core; give it at least one core"));
    if (p.core_count > NATSUME_CONFIG_MAX_CORES)
        return fail(t.str("core_count is ")
                        .dec(p.core_count)
                        .str(", more than the ")
                        .dec(NATSUME_CONFIG_MAX_CORES)
                        .str(" slots of the file format"));
    if (p.core_count > 1 && p.kind != NATSUME_KIND_LINUX)
        return fail(t.str("has ")
                        .dec(p.core_count)
                        .str(" cores, but the project's kernel runs on one core; multi-core partitions are for "
                             "kind = \"linux\", give this one exactly one core"));
    return true;
}

bool check_cores(const Part& p, uint32_t i, Report& r) {
    Text t = start_part(r, p, i);
    if (!check_core_count(p, t)) return false;
    for (uint32_t k = 0; k < p.core_count; ++k) {
        if (p.cores[k] >= MAX_APIC_ID)
            return fail(t.str("core ")
                            .dec(p.cores[k])
                            .str(" is not a valid local APIC ID (must be below ")
                            .dec(MAX_APIC_ID)
                            .str(")"));
        for (uint32_t m = 0; m < k; ++m)
            if (p.cores[m] == p.cores[k])
                return fail(t.str("core ").dec(p.cores[k]).str(" is listed twice; list each core once"));
    }
    for (uint32_t k = p.core_count; k < NATSUME_CONFIG_MAX_CORES; ++k) {
        if (p.cores[k] != 0)
            return fail(t.str("unused core slot ").dec(k).str(" holds ").dec(p.cores[k]).str(", must be 0"));
    }
    return true;
}

// A size is never suggested as 0; a base may be.
Text& suggest_aligned(Text& t, uint64_t v, bool is_size = false) {
    uint64_t down  = v & ~(NATSUME_CONFIG_RAM_ALIGN - 1);
    bool show_down = down != 0 || !is_size;
    t.str("; use ");
    if (show_down) t.hex(down);
    if (down <= UINT64_MAX - NATSUME_CONFIG_RAM_ALIGN)
        t.str(show_down ? " or " : "").hex(down + NATSUME_CONFIG_RAM_ALIGN);
    return t;
}

bool check_ram(const Part& p, uint32_t i, Report& r) {
    Text t = start_part(r, p, i);
    if (!is_aligned(p.ram_base, NATSUME_CONFIG_RAM_ALIGN))
        return fail(suggest_aligned(t.str("ram base ").hex(p.ram_base).str(" is not 2 MiB aligned"), p.ram_base));
    if (!is_aligned(p.ram_size, NATSUME_CONFIG_RAM_ALIGN))
        return fail(
            suggest_aligned(t.str("ram size ").hex(p.ram_size).str(" is not a multiple of 2 MiB"), p.ram_size, true));
    if (p.ram_size < NATSUME_CONFIG_RAM_MIN)
        return fail(t.str("ram size ")
                        .hex(p.ram_size)
                        .str(" is below the minimum of ")
                        .dec(NATSUME_CONFIG_RAM_MIN / MI_B)
                        .str(" MiB"));
    if (!range_fits(p.ram_base, p.ram_size))
        return fail(ram_range(t.str("ram "), p.ram_base, p.ram_size).str(" runs past the end of the address space"));
    return true;
}

bool check_flags(const Part& p, uint32_t i, Report& r) {
    Text t = start_part(r, p, i);
    if (p.lapic_mode != NATSUME_LAPIC_PASSTHROUGH && p.lapic_mode != NATSUME_LAPIC_TRAPPED)
        return fail(t.str("lapic mode ")
                        .dec(p.lapic_mode)
                        .str(" is unknown; use ")
                        .dec(NATSUME_LAPIC_PASSTHROUGH)
                        .str(" (passthrough) or ")
                        .dec(NATSUME_LAPIC_TRAPPED)
                        .str(" (trapped)"));
    if ((p.flags & ~NATSUME_PARTITION_FLAGS) != 0)
        return fail(t.str("flags is ")
                        .hex(p.flags)
                        .str("; only ")
                        .hex(NATSUME_PARTITION_SHARE_SMT)
                        .str(" (share SMT siblings), ")
                        .hex(NATSUME_PARTITION_UNISOLATED_DMA)
                        .str(" (unisolated DMA) and ")
                        .hex(NATSUME_PARTITION_L1D_FLUSH)
                        .str(" (L1D flush) are defined"));
    return true;
}

// The DMA window is mapped guest-physical == host-physical, so it must also
// stay clear of the guest-physical RAM [0, ram_size).
bool check_dma(const Part& p, uint32_t i, Report& r) {
    Text t = start_part(r, p, i);
    if (p.dma_size == 0) {
        if (p.dma_base != 0)
            return fail(t.str("dma window has base ").hex(p.dma_base).str(" but size 0; give both or neither"));
        return true;
    }
    if (!is_aligned(p.dma_base, NATSUME_CONFIG_RAM_ALIGN))
        return fail(suggest_aligned(t.str("dma base ").hex(p.dma_base).str(" is not 2 MiB aligned"), p.dma_base));
    if (!is_aligned(p.dma_size, NATSUME_CONFIG_RAM_ALIGN))
        return fail(
            suggest_aligned(t.str("dma size ").hex(p.dma_size).str(" is not a multiple of 2 MiB"), p.dma_size, true));
    if (!range_fits(p.dma_base, p.dma_size))
        return fail(
            ram_range(t.str("dma window "), p.dma_base, p.dma_size).str(" runs past the end of the address space"));
    if (p.dma_base < p.ram_size)
        return fail(ram_range(t.str("dma window "), p.dma_base, p.dma_size)
                        .str(" starts inside the guest RAM (0x0+")
                        .hex(p.ram_size)
                        .str("): the window appears at its host address, put it at or above ")
                        .hex(p.ram_size));
    if (ranges_overlap(p.ram_base, p.ram_size, p.dma_base, p.dma_size))
        return fail(ram_range(ram_range(t.str("dma window "), p.dma_base, p.dma_size).str(" overlaps its own ram "),
                              p.ram_base, p.ram_size));
    return true;
}

Text& device_label(Text& t, const natsume_config_device& d) { return put_bdf(t.str("device "), d.bdf); }

bool check_device(const Part& p, uint32_t i, const natsume_config_device& d, Report& r) {
    Text t = start_part(r, p, i);
    if ((d.flags & ~NATSUME_DEVICE_FLAGS) != 0)
        return fail(device_label(t, d)
                        .str(" has flags ")
                        .hex(d.flags)
                        .str("; only ")
                        .hex(NATSUME_DEVICE_NO_DMA)
                        .str(" (no DMA) and ")
                        .hex(NATSUME_DEVICE_IDE_SECONDARY)
                        .str(" (IDE secondary channel) are defined"));
    if ((d.flags & NATSUME_DEVICE_IDE_SECONDARY) != 0 && p.kind != NATSUME_KIND_LINUX)
        return fail(device_label(t, d).str(" names an IDE channel for Linux, but the partition is not kind linux"));
    if (d.reserved != 0) return fail(device_label(t, d).str(": reserved field is ").hex(d.reserved).str(", must be 0"));
    if ((d.vendor_id == NATSUME_DEVICE_ANY_ID) != (d.device_id == NATSUME_DEVICE_ANY_ID))
        return fail(put_pci_id(device_label(t, d).str(" expects id "), d.vendor_id, d.device_id)
                        .str("; give vendor and device together, or neither (ffff:ffff)"));
    if (d.intx_gsi != NATSUME_GSI_AUTO && d.intx_gsi >= MAX_INTX_GSI)
        return fail(device_label(t, d)
                        .str(": INTx GSI ")
                        .dec(d.intx_gsi)
                        .str(" is out of range (0 to ")
                        .dec(MAX_INTX_GSI - 1)
                        .str(", or automatic)"));
    return true;
}

bool slot_is_zero(const natsume_config_device& d) {
    const auto* b = reinterpret_cast<const uint8_t*>(&d);
    for (size_t k = 0; k < sizeof d; ++k)
        if (b[k] != 0) return false;
    return true;
}

bool check_devices(const Part& p, uint32_t i, Report& r) {
    Text t = start_part(r, p, i);
    if (p.device_count > NATSUME_CONFIG_MAX_DEVICES)
        return fail(t.str("device_count is ")
                        .dec(p.device_count)
                        .str(", more than the ")
                        .dec(NATSUME_CONFIG_MAX_DEVICES)
                        .str(" slots of the file format"));
    if (p.reserved2 != 0) return fail(t.str("reserved2 field is ").hex(p.reserved2).str(", must be 0"));
    for (uint32_t k = 0; k < p.device_count; ++k) {
        if (!check_device(p, i, p.devices[k], r)) return false;
        for (uint32_t m = 0; m < k; ++m)
            if (p.devices[m].bdf == p.devices[k].bdf) return fail(device_label(t, p.devices[k]).str(" is given twice"));
    }
    for (uint32_t k = p.device_count; k < NATSUME_CONFIG_MAX_DEVICES; ++k)
        if (!slot_is_zero(p.devices[k])) return fail(t.str("unused device slot ").dec(k).str(" is not zero"));
    return true;
}

bool check_partition(const Part& p, uint32_t i, Report& r) {
    return check_name(p, i, r) && check_strings(p, i, r) && check_cores(p, i, r) && check_ram(p, i, r) &&
           check_kind(p, i, r) && check_flags(p, i, r) && check_dma(p, i, r) && check_devices(p, i, r);
}

// ---- between partitions ---------------------------------------------------

// Reports one overlap of `what` of b (a window or RAM) with a range of a.
bool dma_overlap(const Part& a, const char* a_what, uint64_t a_base, uint64_t a_size, const Part& b, const char* b_what,
                 uint64_t b_base, uint64_t b_size, Report& r) {
    if (!ranges_overlap(a_base, a_size, b_base, b_size)) return true;
    Text t = start_part(r, b, 0);
    ram_range(t.str(b_what).ch(' '), b_base, b_size).str(" overlaps the ").str(a_what).str(" of partition '");
    return fail(ram_range(t.str(a.name).str("' ("), a_base, a_size).str(")"));
}

bool check_pair_dma(const Part& a, const Part& b, Report& r) {
    return dma_overlap(a, "ram", a.ram_base, a.ram_size, b, "dma window", b.dma_base, b.dma_size, r) &&
           dma_overlap(a, "dma window", a.dma_base, a.dma_size, b, "ram", b.ram_base, b.ram_size, r) &&
           dma_overlap(a, "dma window", a.dma_base, a.dma_size, b, "dma window", b.dma_base, b.dma_size, r);
}

bool check_pair_devices(const Part& a, const Part& b, Report& r) {
    for (uint32_t x = 0; x < a.device_count; ++x)
        for (uint32_t y = 0; y < b.device_count; ++y)
            if (a.devices[x].bdf == b.devices[y].bdf) {
                Text t = start(r);
                return fail(device_label(t, b.devices[y])
                                .str(" is given to both '")
                                .str(a.name)
                                .str("' and '")
                                .str(b.name)
                                .str("': a device belongs to one partition"));
            }
    return true;
}

bool check_pair(const Part& a, const Part& b, Report& r) {
    Text t = start_part(r, b, 0);
    if (str_equal(a.name, b.name))
        return fail(t.str("the name is used by two partitions; partition names must be unique"));
    for (uint32_t x = 0; x < a.core_count; ++x)
        for (uint32_t y = 0; y < b.core_count; ++y)
            if (a.cores[x] == b.cores[y])
                return fail(t.str("core ")
                                .dec(b.cores[y])
                                .str(" is also given to partition '")
                                .str(a.name)
                                .str("'; a core belongs to one partition only"));
    if (ranges_overlap(a.ram_base, a.ram_size, b.ram_base, b.ram_size)) {
        ram_range(t.str("ram "), b.ram_base, b.ram_size).str(" overlaps partition '").str(a.name).str("' (");
        return fail(ram_range(t, a.ram_base, a.ram_size).str(")"));
    }
    return check_pair_dma(a, b, r) && check_pair_devices(a, b, r);
}

bool check_pairs(const Part* parts, uint32_t count, Report& r) {
    for (uint32_t j = 1; j < count; ++j)
        for (uint32_t i = 0; i < j; ++i)
            if (!check_pair(parts[i], parts[j], r)) return false;
    return true;
}

// ---- channels -------------------------------------------------------------

Text start_chan(Report& r, const Chan& c, uint32_t index, bool name_ok = true) {
    return start_named(r, "channel", c.name, index, name_ok);
}

const char* side_name(uint32_t side) { return side == NATSUME_CHANNEL_FRONTEND ? "frontend" : "backend"; }

// Names the channel and the key a refusal that follows is about.
void subject(Report& r, uint32_t i, ChannelField f) {
    r.channel = i;
    r.field   = f;
}

bool check_chan_name(const Chan& c, uint32_t i, Report& r) {
    subject(r, i, ChannelField::Name);
    Text t   = start_chan(r, c, i, false);
    size_t n = bounded_strlen(c.name, sizeof c.name);
    if (n == sizeof c.name) return fail(t.str("name is not NUL-terminated within ").dec(sizeof c.name).str(" bytes"));
    if (n == 0) return fail(t.str("name is empty"));
    for (size_t k = 0; k < n; ++k)
        if (!name_char_ok(c.name[k])) return fail(t.str("name may contain only a-z, 0-9, '_' and '-'"));
    for (size_t k = n; k < sizeof c.name; ++k)
        if (c.name[k] != '\0') return fail(t.str("name has bytes after its terminating NUL; recompile the file"));
    return true;
}

bool check_chan_memory(const Chan& c, uint32_t i, Report& r) {
    subject(r, i, ChannelField::Memory);
    Text t = start_chan(r, c, i);
    if (c.flags & ~NATSUME_CHANNEL_FLAGS) return fail(t.str("flags ").hex(c.flags).str(" has unknown bits"));
    if (c.size == 0) return fail(t.str("size is 0; a channel is at least 2 MiB"));
    if (!is_aligned(c.base, NATSUME_CONFIG_RAM_ALIGN))
        return fail(suggest_aligned(t.str("base ").hex(c.base).str(" is not 2 MiB aligned"), c.base));
    if (!is_aligned(c.size, NATSUME_CONFIG_RAM_ALIGN))
        return fail(suggest_aligned(t.str("size ").hex(c.size).str(" is not a multiple of 2 MiB"), c.size, true));
    if (!range_fits(c.base, c.size))
        return fail(ram_range(t.str("memory "), c.base, c.size).str(" runs past the end of the address space"));
    return true;
}

// One side's view: a partition that exists, at a guest address above its RAM
// and below the local APIC/IOAPIC window, clear of its DMA window.
bool check_chan_end(const Chan& c, uint32_t i, uint32_t side, const Part* parts, uint32_t count, Report& r) {
    const natsume_config_channel_end& e = c.ends[side];
    subject(r, i, side == NATSUME_CHANNEL_FRONTEND ? ChannelField::Frontend : ChannelField::Backend);
    Text t = start_chan(r, c, i);
    t.str(side_name(side)).ch(' ');
    if (e.partition >= count)
        return fail(t.str("is partition ").dec(e.partition).str(", but the file has ").dec(count).str(" partitions"));
    if (e.reserved != 0) return fail(t.str("has a reserved field that is not zero; recompile the file"));
    const Part& p = parts[e.partition];
    t.ch('\'').str(p.name).str("' ");
    if (!is_aligned(e.gpa, NATSUME_CONFIG_RAM_ALIGN))
        return fail(suggest_aligned(t.str("sees it at ").hex(e.gpa).str(", which is not 2 MiB aligned"), e.gpa));
    if (e.gpa < p.ram_size)
        return fail(t.str("sees it at ")
                        .hex(e.gpa)
                        .str(", inside its guest RAM (0x0+")
                        .hex(p.ram_size)
                        .str("); put it at or above ")
                        .hex(p.ram_size));
    if (!range_fits(e.gpa, c.size) || e.gpa + c.size > NATSUME_CHANNEL_GPA_LIMIT)
        return fail(ram_range(t.str("sees it at "), e.gpa, c.size)
                        .str(", past ")
                        .hex(NATSUME_CHANNEL_GPA_LIMIT)
                        .str(" (the local APIC, IOAPIC and firmware window)"));
    if (p.dma_size && ranges_overlap(e.gpa, c.size, p.dma_base, p.dma_size))
        return fail(ram_range(ram_range(t.str("sees it at "), e.gpa, c.size).str(", over its dma window "), p.dma_base,
                              p.dma_size));
    return true;
}

bool check_channel(const Chan& c, uint32_t i, const Part* parts, uint32_t count, Report& r) {
    if (!check_chan_name(c, i, r) || !check_chan_memory(c, i, r) ||
        !check_chan_end(c, i, NATSUME_CHANNEL_FRONTEND, parts, count, r) ||
        !check_chan_end(c, i, NATSUME_CHANNEL_BACKEND, parts, count, r))
        return false;
    subject(r, i, ChannelField::Backend);
    Text t = start_chan(r, c, i);
    if (c.ends[0].partition == c.ends[1].partition)
        return fail(t.str("frontend and backend are both '")
                        .str(parts[c.ends[0].partition].name)
                        .str("'; a channel joins two partitions"));
    subject(r, i, ChannelField::Memory);
    for (uint32_t k = 0; k < count; ++k) {
        const Part& p = parts[k];
        if (ranges_overlap(c.base, c.size, p.ram_base, p.ram_size))
            return fail(
                ram_range(
                    ram_range(t.str("memory "), c.base, c.size).str(" overlaps the ram of '").str(p.name).str("' ("),
                    p.ram_base, p.ram_size)
                    .str(")"));
        if (p.dma_size && ranges_overlap(c.base, c.size, p.dma_base, p.dma_size))
            return fail(ram_range(ram_range(t.str("memory "), c.base, c.size)
                                      .str(" overlaps the dma window of '")
                                      .str(p.name)
                                      .str("' ("),
                                  p.dma_base, p.dma_size)
                            .str(")"));
    }
    return true;
}

// Two channels: names unique, memory apart, and no partition sees both at
// overlapping addresses.
bool check_channel_pair(const Chan& a, const Chan& b, uint32_t bi, const Part* parts, Report& r) {
    subject(r, bi, ChannelField::Name);
    Text t = start_chan(r, b, 0);
    if (str_equal(a.name, b.name)) return fail(t.str("the name is used by two channels; channel names must be unique"));
    subject(r, bi, ChannelField::Memory);
    if (ranges_overlap(a.base, a.size, b.base, b.size))
        return fail(
            ram_range(ram_range(t.str("memory "), b.base, b.size).str(" overlaps channel '").str(a.name).str("' ("),
                      a.base, a.size)
                .str(")"));
    for (uint32_t x = 0; x < 2; ++x)
        for (uint32_t y = 0; y < 2; ++y)
            if (a.ends[x].partition == b.ends[y].partition &&
                ranges_overlap(a.ends[x].gpa, a.size, b.ends[y].gpa, b.size))
                return subject(r, bi, y == NATSUME_CHANNEL_FRONTEND ? ChannelField::Frontend : ChannelField::Backend),
                       fail(ram_range(t.str("partition '").str(parts[b.ends[y].partition].name).str("' sees it at "),
                                      b.ends[y].gpa, b.size)
                                .str(", over channel '")
                                .str(a.name)
                                .str("'"));
    return true;
}

bool check_channels(const natsume_config_header* h, Report& r) {
    const Part* parts                            = partitions(h);
    const Chan* chans                            = channels(h);
    uint32_t seen[NATSUME_CONFIG_MAX_PARTITIONS] = {};
    for (uint32_t i = 0; i < h->channel_count; ++i) {
        if (!check_channel(chans[i], i, parts, h->partition_count, r)) return false;
        for (uint32_t j = 0; j < i; ++j)
            if (!check_channel_pair(chans[j], chans[i], i, parts, r)) return false;
        for (uint32_t side = 0; side < 2; ++side)
            if (++seen[chans[i].ends[side].partition] > NATSUME_BOOT_MAX_CHANNELS) {
                subject(r, i, side == NATSUME_CHANNEL_FRONTEND ? ChannelField::Frontend : ChannelField::Backend);
                Text t = start_chan(r, chans[i], i);
                return fail(t.str("partition '")
                                .str(parts[chans[i].ends[side].partition].name)
                                .str("' is a side of more than ")
                                .dec(NATSUME_BOOT_MAX_CHANNELS)
                                .str(" channels"));
            }
    }
    return true;
}

// ---- platform -------------------------------------------------------------

Text& core_list(Text& t, const Platform& p) {
    t.str("cores:");
    for (size_t k = 0; k < p.apic_count; ++k) t.ch(' ').dec(p.apic_ids[k]);
    return t;
}

bool core_present(const Platform& p, uint32_t id) {
    for (size_t k = 0; k < p.apic_count; ++k)
        if (p.apic_ids[k] == id) return true;
    return false;
}

bool check_platform_cores(const Part& part, const Platform& p, Report& r) {
    for (uint32_t k = 0; k < part.core_count; ++k) {
        uint32_t id = part.cores[k];
        Text t      = start_part(r, part, 0);
        if (!core_present(p, id))
            return fail(core_list(t.str("core ").dec(id).str(" is not in this machine's MADT ("), p).str(")"));
        if (id == p.bsp_apic_id)
            return fail(core_list(t.str("core ").dec(id).str(" is the boot core, which the hypervisor keeps; use "
                                                             "another core ("),
                                  p)
                            .str(")"));
    }
    return true;
}

// The partition (other than `self`) that owns core `id`, or nullptr.
const Part* core_owner(const natsume_config_header* h, uint32_t id, const Part* self) {
    const Part* parts = partitions(h);
    for (uint32_t i = 0; i < h->partition_count; ++i)
        for (uint32_t k = 0; k < parts[i].core_count && k < NATSUME_CONFIG_MAX_CORES; ++k)
            if (&parts[i] != self && parts[i].cores[k] == id) return &parts[i];
    return nullptr;
}

bool shares_smt(const Part& part) { return (part.flags & NATSUME_PARTITION_SHARE_SMT) != 0; }

// SMT siblings share L1/L2 and execution units: a neighbour there can slow
// this partition down and observe its timing. Only the file can accept that.
bool check_platform_smt(const natsume_config_header* h, const Part& part, const Platform& p, Report& r) {
    if (p.smt_shift == 0 || p.smt_shift >= 32) return true;
    for (uint32_t k = 0; k < part.core_count && k < NATSUME_CONFIG_MAX_CORES; ++k) {
        uint32_t id = part.cores[k];
        for (size_t a = 0; a < p.apic_count; ++a) {
            uint32_t other = p.apic_ids[a];
            if (other == id || (other >> p.smt_shift) != (id >> p.smt_shift)) continue;
            const Part* q = core_owner(h, other, &part);
            bool hv       = other == p.bsp_apic_id;
            if (!hv && !q) continue;  // a parked core runs nothing
            if (shares_smt(part) && (hv || shares_smt(*q))) continue;
            Text t = start_part(r, part, 0);
            t.str("core ").dec(id).str(" is an SMT sibling of core ").dec(other);
            if (hv)
                t.str(" (the hypervisor's boot core)");
            else
                t.str(" of partition '").str(q->name).str("'");
            return fail(
                t.str(": siblings share caches and execution units; use whole physical cores or set "
                      "allow_smt_sharing = true on every partition involved"));
        }
    }
    return true;
}

// RAM, a DMA window or a channel's memory (`what`, of the owner `start`
// names) must be real, free memory.
bool check_placed(Text (*start)(Report&, const void*), const void* owner, const char* what, const char* move,
                  uint64_t base, uint64_t size, const Platform& p, Report& r) {
    Text t      = start(r, owner);
    bool inside = false;
    for (size_t k = 0; k < p.usable_count && !inside; ++k)
        inside = range_contains(p.usable[k].base, p.usable[k].size, base, size);
    if (!inside) {
        ram_range(t.str(what).ch(' '), base, size).str(" is not inside one usable RAM range (usable:");
        for (size_t k = 0; k < p.usable_count; ++k) ram_range(t.ch(' '), p.usable[k].base, p.usable[k].size);
        return fail(t.str(")"));
    }
    for (size_t k = 0; k < p.reserved_count; ++k) {
        const Range& res = p.reserved[k];
        if (ranges_overlap(base, size, res.base, res.size)) {
            ram_range(t.str(what).ch(' '), base, size).str(" overlaps memory the hypervisor uses (");
            return fail(
                ram_range(t, res.base, res.size).str(": its image, heap or a boot module); move the ").str(move));
        }
    }
    // Firmware (USB legacy emulation, graphics) DMAs into an RMRR behind every
    // guest's back: memory there would be corrupted, so it belongs to no one.
    for (size_t k = 0; k < p.rmrr_count; ++k) {
        const Range& m = p.rmrr[k];
        if (!ranges_overlap(base, size, m.base, m.size)) continue;
        ram_range(t.str(what).ch(' '), base, size).str(" overlaps the firmware's reserved DMA region (RMRR) ");
        return fail(ram_range(t, m.base, m.size).str(", which devices keep writing to; move the ").str(what));
    }
    return true;
}

Text start_part_of(Report& r, const void* part) { return start_part(r, *static_cast<const Part*>(part), 0); }
Text start_chan_of(Report& r, const void* chan) { return start_chan(r, *static_cast<const Chan*>(chan), 0); }

bool check_platform_ram(const Part& part, const Platform& p, Report& r) {
    if (!check_placed(start_part_of, &part, "ram", "RAM", part.ram_base, part.ram_size, p, r)) return false;
    return part.dma_size == 0 ||
           check_placed(start_part_of, &part, "dma window", "window", part.dma_base, part.dma_size, p, r);
}

bool check_platform_channel(const Chan& c, uint32_t i, const Platform& p, Report& r) {
    subject(r, i, ChannelField::Memory);
    return check_placed(start_chan_of, &c, "memory", "channel", c.base, c.size, p, r);
}

const PlatformDevice* find_device(const Platform& p, uint16_t bdf) {
    for (size_t k = 0; k < p.device_count; ++k)
        if (p.devices[k].bdf == bdf) return &p.devices[k];
    return nullptr;
}

Text& bus_functions(Text& t, const Platform& p, uint32_t bus) {
    t.str("bus ").hex_fixed(bus, 2);
    bool any = false;
    for (size_t k = 0; k < p.device_count; ++k) {
        if (pci::bdf_bus(p.devices[k].bdf) != bus) continue;
        put_bdf(t.str(any ? " " : " has: "), p.devices[k].bdf);
        any = true;
    }
    return any ? t : t.str(" has no functions");
}

bool check_platform_device(const Part& part, const natsume_config_device& d, const Platform& p, Report& r) {
    Text t                      = start_part(r, part, 0);
    const PlatformDevice* found = find_device(p, d.bdf);
    if (!found)
        return fail(
            bus_functions(device_label(t, d).str(" is not on this machine ("), p, pci::bdf_bus(d.bdf)).str(")"));
    if (d.vendor_id != NATSUME_DEVICE_ANY_ID && (found->vendor_id != d.vendor_id || found->device_id != d.device_id)) {
        put_pci_id(device_label(t, d).str(" is "), found->vendor_id, found->device_id);
        return fail(put_pci_id(t.str(", the partition file expects "), d.vendor_id, d.device_id));
    }
    if (found->is_bridge)
        return fail(
            device_label(t, d).str(" is a PCI bridge, which cannot be assigned; assign the devices "
                                   "behind it"));
    return true;
}

// Without DMA remapping a device's bus-master writes use host-physical
// addresses: the guest can only hand it buffers whose gpa equals their hpa.
// Nothing then stops its writes elsewhere either, MSIs to any core included:
// the file must say that this partition is trusted with that.
bool check_platform_dma_need(const Part& part, const Platform& p, Report& r) {
    if (p.iommu) return true;
    for (uint32_t k = 0; k < part.device_count; ++k) {
        const natsume_config_device& d = part.devices[k];
        if ((d.flags & NATSUME_DEVICE_NO_DMA) != 0) continue;
        Text t = start(r);
        put_bdf(t.str("partition '").str(part.name).str("' owns DMA-capable device "), d.bdf);
        if (part.dma_size == 0)
            return fail(
                t.str(" but this machine has no IOMMU: give it a dma window (identity-mapped RAM) for its "
                      "DMA buffers"));
        if ((part.flags & NATSUME_PARTITION_UNISOLATED_DMA) == 0)
            return fail(
                t.str(" but this machine has no IOMMU: the device could write any memory and send any "
                      "interrupt; set allow_unisolated_dma = true to accept that"));
        return true;
    }
    return true;
}

bool check_platform_devices(const Part& part, const Platform& p, Report& r) {
    for (uint32_t k = 0; k < part.device_count; ++k)
        if (!check_platform_device(part, part.devices[k], p, r)) return false;
    return check_platform_dma_need(part, p, r);
}

// ---- shared INTx lines ------------------------------------------------------

uint32_t resolved_gsi(const natsume_config_device& d, const Platform& p) {
    if (d.intx_gsi != NATSUME_GSI_AUTO) return d.intx_gsi;
    const PlatformDevice* found = find_device(p, d.bdf);
    return found ? found->gsi : NATSUME_GSI_AUTO;
}

uint32_t device_total(const Part& part) {
    return part.device_count < NATSUME_CONFIG_MAX_DEVICES ? part.device_count : NATSUME_CONFIG_MAX_DEVICES;
}

// Smallest resolved GSI >= floor, or NATSUME_GSI_AUTO when there is none.
uint32_t next_gsi(const Part* parts, uint32_t count, const Platform& p, uint64_t floor) {
    uint32_t best = NATSUME_GSI_AUTO;
    for (uint32_t i = 0; i < count; ++i)
        for (uint32_t k = 0; k < device_total(parts[i]); ++k) {
            uint32_t g = resolved_gsi(parts[i].devices[k], p);
            if (g >= floor && g < best) best = g;
        }
    return best;
}

// Fills `line` with the devices on `gsi`; true when they span partitions.
bool collect_line(const Part* parts, uint32_t count, const Platform& p, uint32_t gsi, SharedLine& line) {
    line                 = SharedLine{gsi, {}, {}, 0, false};
    uint32_t first_owner = 0;
    bool shared          = false;
    for (uint32_t i = 0; i < count; ++i)
        for (uint32_t k = 0; k < device_total(parts[i]); ++k) {
            if (resolved_gsi(parts[i].devices[k], p) != gsi) continue;
            if (line.count == 0 && !line.truncated) first_owner = i;
            shared = shared || i != first_owner;
            if (line.count == NATSUME_CONFIG_MAX_DEVICES) {
                line.truncated = true;
                continue;
            }
            line.bdf[line.count]       = parts[i].devices[k].bdf;
            line.partition[line.count] = static_cast<uint8_t>(i);
            ++line.count;
        }
    return shared;
}

}  // namespace

const natsume_config_partition* partitions(const natsume_config_header* h) {
    return reinterpret_cast<const natsume_config_partition*>(reinterpret_cast<const uint8_t*>(h) + h->header_size);
}

const natsume_config_channel* channels(const natsume_config_header* h) {
    return reinterpret_cast<const natsume_config_channel*>(reinterpret_cast<const uint8_t*>(partitions(h)) +
                                                           uint64_t{h->partition_count} * h->partition_size);
}

const char* lapic_mode_name(uint32_t mode) {
    switch (mode) {
    case NATSUME_LAPIC_PASSTHROUGH: return "passthrough";
    case NATSUME_LAPIC_TRAPPED: return "trapped";
    default: return "unknown";
    }
}

bool validate_blob(const void* blob, size_t size, Report& r) {
    r = Report{};
    if (!check_header(blob, size, r)) return false;
    const auto* h     = static_cast<const natsume_config_header*>(blob);
    const Part* parts = partitions(h);
    for (uint32_t i = 0; i < h->partition_count; ++i)
        if (!check_partition(parts[i], i, r)) return false;
    return check_pairs(parts, h->partition_count, r) && check_channels(h, r);
}

bool validate_platform(const natsume_config_header* h, const Platform& p, Report& r) {
    r = Report{};
    if (h->partition_count > NATSUME_CONFIG_MAX_PARTITIONS) {
        Text t = start(r);
        return fail(t.str("partition_count is ").dec(h->partition_count).str("; run validate_blob first"));
    }
    const Part* parts = partitions(h);
    for (uint32_t i = 0; i < h->partition_count; ++i)
        if (!check_platform_cores(parts[i], p, r) || !check_platform_smt(h, parts[i], p, r) ||
            !check_platform_ram(parts[i], p, r) || !check_platform_devices(parts[i], p, r))
            return false;
    const Chan* chans = channels(h);
    for (uint32_t i = 0; i < h->channel_count && i < NATSUME_CONFIG_MAX_CHANNELS; ++i)
        if (!check_platform_channel(chans[i], i, p, r)) return false;
    return true;
}

size_t shared_intx_lines(const natsume_config_header* h, const Platform& p, SharedLine* out, size_t cap) {
    uint32_t count = h->partition_count;
    if (count > NATSUME_CONFIG_MAX_PARTITIONS) count = NATSUME_CONFIG_MAX_PARTITIONS;
    const Part* parts = partitions(h);
    size_t found      = 0;
    SharedLine line{};
    for (uint64_t floor = 0;;) {
        uint32_t gsi = next_gsi(parts, count, p, floor);
        if (gsi == NATSUME_GSI_AUTO) return found;
        if (collect_line(parts, count, p, gsi, line)) {
            if (found < cap) out[found] = line;
            ++found;
        }
        floor = uint64_t{gsi} + 1;
    }
}

}  // namespace natsume::config
