// A partition as the hypervisor keeps it after boot: its configuration, its
// x86 state, its devices, its console and its counters, each a part of its own.
#pragma once
#include <atomic>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <natsume/config_blob.h>

#include "base/spinlock.hpp"
#include "lib/guest_range.hpp"
#include "lib/pci.hpp"
#include "lib/rate_limit.hpp"
#include "partition/mmio_regions.hpp"
#include "vdev/msix.hpp"
#include "vdev/vioapic.hpp"
#include "vdev/vpci.hpp"
#include "vdev/vrtc.hpp"
#include "vdev/vuart.hpp"

namespace natsume {

enum class PartitionState : uint32_t { Loaded, Running, Stopped };

// Exit counters are kept per basic exit reason (SDM Appendix C has < 80).
constexpr size_t EXIT_REASON_SLOTS = 80;
constexpr size_t MAX_PARTITIONS    = NATSUME_CONFIG_MAX_PARTITIONS;

struct PartitionCounters {
    uint64_t exits[EXIT_REASON_SLOTS];
    uint64_t hypercalls;
    uint64_t refused_io;
    uint64_t refused_msr;
    uint64_t refused_other;
    uint64_t nmis;
    uint64_t doorbells_sent;                   // rung by this partition, sent to the peer
    uint64_t doorbells_refused;                // rung by this partition, refused
    std::atomic<uint64_t> doorbells_received;  // rung by peers (their cores count)
};

constexpr uint32_t NO_GSI        = 0xffffffffu;
constexpr uint8_t NO_IDE_CHANNEL = 0xff;

// What a refusal was about: the first refusal of each kind is always logged,
// later ones only while the partition's log budget lasts (then counted).
enum class Refusal : uint8_t {
    Msr,
    Io,
    PciConfig,
    Ioapic,
    Lapic,
    Ipi,
    Msix,
    Hypercall,
    Instruction,
    Emulation,
    Signal,
    Count
};

struct RefusalLog {
    uint32_t kinds_seen;      // bit per Refusal already logged once
    rate::Bucket budget;      // further lines
    uint64_t unlogged;        // refusals counted but not printed since the last logged one
    uint64_t unlogged_total;  // since the partition started
    // Unowned I/O ports are logged once each (a kernel's probe loops, such as
    // Linux polling the CMOS clock, would otherwise fill the log); the rest counted.
    uint8_t io_port_logged[0x10000 / 8];
};

// A PCI function the partition owns, resolved against the platform at boot.
struct PartitionDevice {
    uint16_t bdf, vendor_id, device_id, flags;
    uint32_t gsi;  // INTx input of the IOAPIC, NO_GSI when the function has no INTx
    // An IDE controller's channels in compatibility mode interrupt on their
    // ISA lines (primary 14, secondary 15), not on INTx: those lines' GSIs,
    // NO_GSI for a channel in native mode or a function that is no IDE.
    uint32_t legacy_gsi[2];
    // A Linux partition's IDE channel in compatibility mode, shown to it in
    // native mode on its ISA line (vdev/native_ide.hpp): 0 primary, 1
    // secondary, NO_IDE_CHANNEL for none.
    uint8_t native_ide_channel;
    const pci::Function* fn;  // in the boot-time inventory
    uint64_t trapped_page;    // a register page kept out of the EPT (shared-line check), 0 = none
    bool msix;                // MSI-X virtualized: its table pages are kept out of the EPT
    msix::Location msix_loc;
    msix::Table msix_table;
    // Interrupt remapping: the remapping entries of its MSI (one) and of the
    // MSI-X entries kept (msix::MAX_VECTORS at most); counts 0 without.
    uint16_t msi_irte, msi_irte_count;
    uint16_t msix_irte, msix_irte_count;
};

// Fixed before any guest runs: the partition file's entry and where the
// platform put it.
struct PartitionConfig {
    uint32_t id;
    natsume_config_partition file;  // copied from the validated blob
    uint32_t apic_id;               // its first core: the boot CPU and the default interrupt destination
    uint32_t cpu_index;             // index of that core in the per-CPU table
    uint32_t core_count;            // its cores (one vCPU pinned to each): apic_ids[0] == apic_id
    uint32_t apic_ids[NATSUME_CONFIG_MAX_CORES];
    uint32_t cpu_indexes[NATSUME_CONFIG_MAX_CORES];
    uint64_t ram_base, ram_size;  // host-physical RAM; guest-physical [0, ram_size)
    uint64_t entry;               // ELF entry, or Linux's 64-bit entry (guest-physical)
    uint64_t image_end;
    // The boot environment its kind expects (bootinfo.h; Linux: boot.rst "64-bit Boot Protocol").
    uint16_t sel_code, sel_data, sel_tss, gdt_limit;
    uint64_t boot_rdi, boot_rsi;
    uint64_t tsc_khz, lapic_timer_khz;  // what it is told the clocks run at (Linux: CPUID leaf 0x15)
};

// The VMX and EPT state the arch layer builds and its exit handlers keep.
struct PartitionX86 {
    uint64_t eptp;
    uint16_t vpid;
    uint8_t* io_bitmap;       // 2 pages: ports 0-0x7fff, 0x8000-0xffff (SDM 24.6.4)
    uint8_t* msr_bitmap;      // 1 page (SDM 24.6.9)
    uint64_t entry_msr_load;  // VM-entry MSR-load list (l1d_flush: IA32_FLUSH_CMD), 0 = none
};

// The devices it owns and the virtual devices in front of them.
struct PartitionDevices {
    PartitionDevice list[NATSUME_CONFIG_MAX_DEVICES];
    uint32_t count;
    uint64_t dma_base, dma_size;  // identity-mapped DMA window, 0/0 when absent
    bool iommu;                   // its devices' DMA goes through a VT-d domain (device addresses = gpa)
    vpci::ConfigSpace vpci;       // its view of PCI configuration space
    uint32_t cf8;                 // its latched configuration address (port 0xCF8)
    uint64_t ioapic_gpa;          // trapped IOAPIC page (0: the partition owns no INTx line)
    MmioRegistry mmio;            // what the hypervisor emulates: out of the EPT, one handler each
    vioapic::Vioapic* vioapic;    // lives in vioapic_storage when ioapic_gpa != 0
    vuart::Uart uart;             // a Linux partition's virtual COM1 (ports 0x3F8-0x3FF)
    vrtc::Clock rtc;              // a Linux partition's CMOS clock (ports 0x70/0x71)
    alignas(vioapic::Vioapic) unsigned char vioapic_storage[sizeof(vioapic::Vioapic)];
};

// Its console: the partial line and the rate limit on its bytes.
struct PartitionConsole {
    char line[1024];  // a partial console line, flushed at '\n'
    size_t len;
    rate::Bucket budget;     // console bytes it may still print now
    uint64_t dropped;        // bytes dropped by the rate limit, not yet reported
    uint64_t dropped_total;  // since the partition started
};

struct Partition {
    PartitionConfig config;
    // Held by its cores while they handle a VM exit (and by a core stopping
    // it): its devices, virtual devices, console, counters and refusal log
    // are shared by its vCPUs. Uncontended on a one-core partition.
    Spinlock lock;
    // Run state: written by its own core or the boot core, read by every core
    // (stop_reason is written before the state is published as Stopped).
    // Sequentially consistent: a stopping core stores the state, then loads the
    // stop listener; the boot core stores the listener, then loads the states;
    // with weaker orders both could miss the other and the boot core would
    // sleep for ever. State changes are rare; loads cost a plain move on x86.
    std::atomic<PartitionState> state;
    char stop_reason[160];
    PartitionX86 x86;
    PartitionDevices devices;
    PartitionConsole console;
    PartitionCounters counters;
    RefusalLog refusals;  // rate-limited refusal lines

    const char* name() const { return config.file.name; }
    bool owns_core(uint32_t apic_id) const {
        for (uint32_t k = 0; k < config.core_count; k++)
            if (config.apic_ids[k] == apic_id) return true;
        return false;
    }
    void publish_state(PartitionState s) { state.store(s, std::memory_order_seq_cst); }
    PartitionState observe_state() const { return state.load(std::memory_order_seq_cst); }
};

extern Partition partitions[MAX_PARTITIONS];
extern uint32_t partition_count;

// True when [gpa, gpa+len) lies inside the partition's RAM.
inline bool gpa_range_ok(const Partition& p, uint64_t gpa, uint64_t len) {
    return guest_range_ok(p.config.ram_size, gpa, len);
}
// Host pointer to guest-physical memory (RAM is identity-mapped in the hypervisor).
inline uint8_t* gpa_to_host(const Partition& p, uint64_t gpa) {
    return reinterpret_cast<uint8_t*>(p.config.ram_base + gpa);
}
// Host pointer to [gpa, gpa+len) of its RAM or of its identity DMA window
// (where a Linux partition's kernel, code and page tables live), or nullptr.
// Hypercall buffers stay in RAM (gpa_range_ok); this is for what the
// hypervisor reads or writes of the guest's own memory image.
inline uint8_t* guest_memory(const Partition& p, uint64_t gpa, uint64_t len) {
    if (gpa_range_ok(p, gpa, len)) return gpa_to_host(p, gpa);
    const uint64_t base = p.config.file.dma_base, size = p.config.file.dma_size;
    if (size && gpa >= base && guest_range_ok(size, gpa - base, len)) return reinterpret_cast<uint8_t*>(gpa);
    return nullptr;
}

// Appends guest console bytes; complete lines go to the console as "[name] text".
void partition_console_write(Partition& p, const char* bytes, size_t len);
// Marks the partition stopped with a reason and prints its exit counters.
void partition_report_stop(Partition& p, const char* reason);
// Called with no arguments after every partition_report_stop (null: nobody).
void partition_set_stop_listener(void (*fn)());
void partition_print_counters(const Partition& p);
// Counts a refusal (refused_msr, refused_io or refused_other by kind) and
// logs it as "natsume: refuse: partition NAME: ..." within the rate limit.
void partition_refuse(Partition& p, Refusal kind, const char* fmt, ...) __attribute__((format(printf, 3, 4)));
void partition_vrefuse(Partition& p, Refusal kind, const char* fmt, va_list ap);
// A refusal of an access to an unowned port: logged the first time for that port, counted every time.
void partition_refuse_port(Partition& p, uint16_t port, const char* fmt, ...) __attribute__((format(printf, 3, 4)));

}  // namespace natsume
