#include "validate.hpp"

#include "../crc32.hpp"
#include "../range.hpp"
#include "../text.hpp"

namespace natsume::config {

namespace {

constexpr uint64_t kMiB = 1024 * 1024;
constexpr uint32_t kMaxApicId = 256;  // xAPIC IDs are 8 bits (SDM Vol. 3A, 11.4.6)

using Part = natsume_config_partition;

Text start(Report& r) { return Text(r.text, sizeof r.text); }

// "partition 'rt0': " once the name is known to be printable, else "partition 2: ".
Text start_part(Report& r, const Part& p, uint32_t index, bool name_ok = true) {
    Text t = start(r);
    t.str("partition ");
    if (name_ok)
        t.ch('\'').str(p.name).str("': ");
    else
        t.dec(index).str(": ");
    return t;
}

Text& ram_range(Text& t, uint64_t base, uint64_t size) { return t.hex(base).ch('+').hex(size); }

bool fail(Text&) { return false; }

// ---- header -------------------------------------------------------------

bool check_header_sizes(const natsume_config_header& h, size_t size, Report& r) {
    Text t = start(r);
    if (h.header_size != sizeof(natsume_config_header))
        return fail(t.str("header_size is ").dec(h.header_size).str(", expected ").dec(sizeof(natsume_config_header))
                        .str(": the file comes from an incompatible natsume-config; recompile it"));
    if (h.partition_size != sizeof(Part))
        return fail(t.str("partition_size is ").dec(h.partition_size).str(", expected ").dec(sizeof(Part))
                        .str(": the file comes from an incompatible natsume-config; recompile it"));
    if (h.partition_count < 1 || h.partition_count > NATSUME_CONFIG_MAX_PARTITIONS)
        return fail(t.str("partition_count is ").dec(h.partition_count).str("; a partition file describes 1 to ")
                        .dec(NATSUME_CONFIG_MAX_PARTITIONS).str(" partitions"));
    uint64_t expected = sizeof(natsume_config_header) + uint64_t{h.partition_count} * sizeof(Part);
    if (h.total_size != expected)
        return fail(t.str("total_size is ").dec(h.total_size).str(" but the header and ").dec(h.partition_count)
                        .str(" partitions take ").dec(expected).str(" bytes; the file is corrupt, recompile it"));
    if (h.total_size > size)
        return fail(t.str("total_size is ").dec(h.total_size).str(" but only ").dec(size)
                        .str(" bytes were loaded; the file is truncated, copy it again"));
    return true;
}

bool check_crc(const natsume_config_header& h, Report& r) {
    // The CRC covers the whole blob with its own field read as zero.
    const auto* bytes = reinterpret_cast<const uint8_t*>(&h);
    constexpr size_t at = __builtin_offsetof(natsume_config_header, crc32);
    const uint8_t zero[4] = {0, 0, 0, 0};
    uint32_t crc = crc32(bytes, at);
    crc = crc32(zero, sizeof zero, crc);
    crc = crc32(bytes + at + 4, h.total_size - at - 4, crc);
    if (crc == h.crc32)
        return true;
    Text t = start(r);
    return fail(t.str("crc32 is ").hex(h.crc32).str(" but the contents give ").hex(crc)
                    .str("; the file is corrupt, recompile it"));
}

bool check_header(const void* blob, size_t size, Report& r) {
    Text t = start(r);
    if (size < sizeof(natsume_config_header))
        return fail(t.str("compiled partition file is ").dec(size).str(" bytes, smaller than its ")
                        .dec(sizeof(natsume_config_header)).str("-byte header; recompile it"));
    if (reinterpret_cast<uintptr_t>(blob) % alignof(natsume_config_header) != 0)
        return fail(t.str("compiled partition file is not 8-byte aligned in memory; copy it to an aligned buffer"));
    const auto& h = *static_cast<const natsume_config_header*>(blob);
    if (h.magic != NATSUME_CONFIG_MAGIC)
        return fail(t.str("magic is ").hex(h.magic).str(", not ").hex(NATSUME_CONFIG_MAGIC)
                        .str(" (\"ANTUSCFG\"): this is not a compiled partition file"));
    if (h.version != NATSUME_CONFIG_VERSION)
        return fail(t.str("version is ").dec(h.version).str(" but this build reads version ")
                        .dec(NATSUME_CONFIG_VERSION).str("; recompile the file with a matching natsume-config"));
    if (!check_header_sizes(h, size, r) || !check_crc(h, r))
        return false;
    size_t n = bounded_strlen(h.name, sizeof h.name);
    if (n == sizeof h.name)
        return fail(t.str("machine name is not NUL-terminated within ").dec(sizeof h.name).str(" bytes"));
    if (n == 0)
        return fail(t.str("machine name is empty; give the file a name"));
    return true;
}

// ---- one partition --------------------------------------------------------

bool name_char_ok(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'; }

bool check_name(const Part& p, uint32_t i, Report& r) {
    size_t n = bounded_strlen(p.name, sizeof p.name);
    Text t = start_part(r, p, i, false);
    if (n == sizeof p.name)
        return fail(t.str("name is not NUL-terminated within ").dec(sizeof p.name).str(" bytes"));
    if (n == 0)
        return fail(t.str("name is empty; give each partition a name made of a-z, 0-9, '_' and '-'"));
    for (size_t k = 0; k < n; ++k) {
        if (!name_char_ok(p.name[k]))
            return fail(t.str("name has the character code ").dec(static_cast<uint8_t>(p.name[k]))
                            .str(" at offset ").dec(k).str("; use only a-z, 0-9, '_' and '-'"));
    }
    return true;
}

bool check_strings(const Part& p, uint32_t i, Report& r) {
    Text t = start_part(r, p, i);
    size_t n = bounded_strlen(p.image, sizeof p.image);
    if (n == sizeof p.image)
        return fail(t.str("image is not NUL-terminated within ").dec(sizeof p.image).str(" bytes"));
    if (n == 0)
        return fail(t.str("image is empty; name the guest image module to boot"));
    if (bounded_strlen(p.cmdline, sizeof p.cmdline) == sizeof p.cmdline)
        return fail(t.str("cmdline is not NUL-terminated within ").dec(sizeof p.cmdline).str(" bytes"));
    return true;
}

bool check_cores(const Part& p, uint32_t i, Report& r) {
    Text t = start_part(r, p, i);
    if (p.core_count == 0)
        return fail(t.str("has no core; give it exactly one core"));
    if (p.core_count > NATSUME_CONFIG_MAX_CORES)
        return fail(t.str("core_count is ").dec(p.core_count).str(", more than the ").dec(NATSUME_CONFIG_MAX_CORES)
                        .str(" slots of the file format"));
    if (p.core_count > 1)
        return fail(t.str("has ").dec(p.core_count)
                        .str(" cores; multi-core partitions are not supported yet, give exactly one core"));
    for (uint32_t k = 0; k < p.core_count; ++k) {
        if (p.cores[k] >= kMaxApicId)
            return fail(t.str("core ").dec(p.cores[k]).str(" is not a valid local APIC ID (must be below ")
                            .dec(kMaxApicId).str(")"));
    }
    for (uint32_t k = p.core_count; k < NATSUME_CONFIG_MAX_CORES; ++k) {
        if (p.cores[k] != 0)
            return fail(t.str("unused core slot ").dec(k).str(" holds ").dec(p.cores[k]).str(", must be 0"));
    }
    return true;
}

Text& suggest_aligned(Text& t, uint64_t v) {
    uint64_t down = v & ~(NATSUME_CONFIG_RAM_ALIGN - 1);
    t.str("; use ").hex(down);
    if (down <= UINT64_MAX - NATSUME_CONFIG_RAM_ALIGN)
        t.str(" or ").hex(down + NATSUME_CONFIG_RAM_ALIGN);
    return t;
}

bool check_ram(const Part& p, uint32_t i, Report& r) {
    Text t = start_part(r, p, i);
    if (!is_aligned(p.ram_base, NATSUME_CONFIG_RAM_ALIGN))
        return fail(suggest_aligned(t.str("ram base ").hex(p.ram_base).str(" is not 2 MiB aligned"), p.ram_base));
    if (!is_aligned(p.ram_size, NATSUME_CONFIG_RAM_ALIGN))
        return fail(suggest_aligned(t.str("ram size ").hex(p.ram_size).str(" is not a multiple of 2 MiB"),
                                    p.ram_size));
    if (p.ram_size < NATSUME_CONFIG_RAM_MIN)
        return fail(t.str("ram size ").hex(p.ram_size).str(" is below the minimum of ")
                        .dec(NATSUME_CONFIG_RAM_MIN / kMiB).str(" MiB"));
    if (!range_fits(p.ram_base, p.ram_size))
        return fail(ram_range(t.str("ram "), p.ram_base, p.ram_size).str(" runs past the end of the address space"));
    return true;
}

bool check_flags(const Part& p, uint32_t i, Report& r) {
    Text t = start_part(r, p, i);
    if (p.lapic_mode == NATSUME_LAPIC_TRAPPED)
        return fail(t.str("lapic mode trapped is not supported yet; use passthrough"));
    if (p.lapic_mode != NATSUME_LAPIC_PASSTHROUGH)
        return fail(t.str("lapic mode ").dec(p.lapic_mode).str(" is unknown; use ").dec(NATSUME_LAPIC_PASSTHROUGH)
                        .str(" (passthrough)"));
    if (p.flags != 0)
        return fail(t.str("flags is ").hex(p.flags).str(", must be 0 (no flags are defined)"));
    if (p.reserved != 0)
        return fail(t.str("reserved field is ").hex(p.reserved).str(", must be 0"));
    return true;
}

bool check_partition(const Part& p, uint32_t i, Report& r) {
    return check_name(p, i, r) && check_strings(p, i, r) && check_cores(p, i, r) && check_ram(p, i, r) &&
           check_flags(p, i, r);
}

// ---- between partitions ---------------------------------------------------

bool check_pair(const Part& a, const Part& b, Report& r) {
    Text t = start_part(r, b, 0);
    if (str_equal(a.name, b.name))
        return fail(t.str("the name is used by two partitions; partition names must be unique"));
    for (uint32_t x = 0; x < a.core_count; ++x)
        for (uint32_t y = 0; y < b.core_count; ++y)
            if (a.cores[x] == b.cores[y])
                return fail(t.str("core ").dec(b.cores[y]).str(" is also given to partition '").str(a.name)
                                .str("'; a core belongs to one partition only"));
    if (ranges_overlap(a.ram_base, a.ram_size, b.ram_base, b.ram_size)) {
        ram_range(t.str("ram "), b.ram_base, b.ram_size).str(" overlaps partition '").str(a.name).str("' (");
        return fail(ram_range(t, a.ram_base, a.ram_size).str(")"));
    }
    return true;
}

bool check_pairs(const Part* parts, uint32_t count, Report& r) {
    for (uint32_t j = 1; j < count; ++j)
        for (uint32_t i = 0; i < j; ++i)
            if (!check_pair(parts[i], parts[j], r))
                return false;
    return true;
}

// ---- platform -------------------------------------------------------------

Text& core_list(Text& t, const Platform& p) {
    t.str("cores:");
    for (size_t k = 0; k < p.apic_count; ++k)
        t.ch(' ').dec(p.apic_ids[k]);
    return t;
}

bool core_present(const Platform& p, uint32_t id) {
    for (size_t k = 0; k < p.apic_count; ++k)
        if (p.apic_ids[k] == id)
            return true;
    return false;
}

bool check_platform_cores(const Part& part, const Platform& p, Report& r) {
    for (uint32_t k = 0; k < part.core_count; ++k) {
        uint32_t id = part.cores[k];
        Text t = start_part(r, part, 0);
        if (!core_present(p, id))
            return fail(core_list(t.str("core ").dec(id).str(" is not in this machine's MADT ("), p).str(")"));
        if (id == p.bsp_apic_id)
            return fail(core_list(t.str("core ").dec(id).str(" is the boot core, which the hypervisor keeps; use "
                                                             "another core ("), p).str(")"));
    }
    return true;
}

bool check_platform_ram(const Part& part, const Platform& p, Report& r) {
    Text t = start_part(r, part, 0);
    bool inside = false;
    for (size_t k = 0; k < p.usable_count && !inside; ++k)
        inside = range_contains(p.usable[k].base, p.usable[k].size, part.ram_base, part.ram_size);
    if (!inside) {
        ram_range(t.str("ram "), part.ram_base, part.ram_size).str(" is not inside one usable RAM range (usable:");
        for (size_t k = 0; k < p.usable_count; ++k)
            ram_range(t.ch(' '), p.usable[k].base, p.usable[k].size);
        return fail(t.str(")"));
    }
    for (size_t k = 0; k < p.reserved_count; ++k) {
        const Range& res = p.reserved[k];
        if (ranges_overlap(part.ram_base, part.ram_size, res.base, res.size)) {
            ram_range(t.str("ram "), part.ram_base, part.ram_size).str(" overlaps memory the hypervisor uses (");
            return fail(ram_range(t, res.base, res.size).str(": its image, heap or a boot module); move the RAM"));
        }
    }
    return true;
}

}  // namespace

const natsume_config_partition* partitions(const natsume_config_header* h) {
    return reinterpret_cast<const natsume_config_partition*>(reinterpret_cast<const uint8_t*>(h) + h->header_size);
}

const char* lapic_mode_name(uint32_t mode) {
    switch (mode) {
    case NATSUME_LAPIC_PASSTHROUGH: return "passthrough";
    case NATSUME_LAPIC_TRAPPED: return "trapped";
    default: return "unknown";
    }
}

bool validate_blob(const void* blob, size_t size, Report& r) {
    r.text[0] = '\0';
    if (!check_header(blob, size, r))
        return false;
    const auto* h = static_cast<const natsume_config_header*>(blob);
    const Part* parts = partitions(h);
    for (uint32_t i = 0; i < h->partition_count; ++i)
        if (!check_partition(parts[i], i, r))
            return false;
    return check_pairs(parts, h->partition_count, r);
}

bool validate_platform(const natsume_config_header* h, const Platform& p, Report& r) {
    r.text[0] = '\0';
    if (h->partition_count > NATSUME_CONFIG_MAX_PARTITIONS) {
        Text t = start(r);
        return fail(t.str("partition_count is ").dec(h->partition_count).str("; run validate_blob first"));
    }
    const Part* parts = partitions(h);
    for (uint32_t i = 0; i < h->partition_count; ++i)
        if (!check_platform_cores(parts[i], p, r) || !check_platform_ram(parts[i], p, r))
            return false;
    return true;
}

}  // namespace natsume::config
