#include "arch/x86/host_paging.hpp"

#include "drivers/x86/cpu.hpp"
#include "drivers/x86/cpuid.hpp"

#include "arch/x86/percpu.hpp"
#include "arch/x86/safe_access.hpp"
#include "arch/x86/vmx_defs.hpp"
#include "base/log.hpp"
#include "base/page_pool.hpp"

extern "C" const uint8_t __image_start[], __image_end[], __rodata_start[], __data_start[];

namespace natsume::x86::host_paging {
namespace {

// Paging-structure entry bits (SDM Vol. 3A 4.5, Tables 4-15 to 4-20).
constexpr uint64_t P = 1, RW = 2, PWT_PCD = 0x18, PS = 0x80, NX = 1ull << 63;
constexpr uint64_t ADDR = 0x000ffffffffff000ull;
constexpr uint64_t PAGE = 4096, LARGE = 2ull << 20;

uint64_t hardened_root;
bool nx_supported;

uint64_t* table(uint64_t entry) { return reinterpret_cast<uint64_t*>(entry & ADDR); }
uint64_t addr(const void* p) { return reinterpret_cast<uint64_t>(p); }

bool is_guard(uint64_t pa) {
    for (size_t i = 0; i < MAX_CPUS; i++) {
        const PerCpu& c = cpus[i];
        if (pa == addr(c.stack_guard) || pa == addr(c.exit_stack_guard) || pa == addr(c.ist_stack_guard)) return true;
    }
    return false;
}

// A 4 KiB page of the image region: what it may be used for.
uint64_t small_page_flags(uint64_t pa, uint64_t large_flags) {
    uint64_t nx = nx_supported ? NX : 0, cache = large_flags & PWT_PCD;
    if (pa < addr(__image_start) || pa >= addr(__image_end)) return pa | P | RW | nx | cache;
    if (is_guard(pa)) return 0;
    if (pa < addr(__rodata_start)) return pa | P | cache;     // multiboot header and text
    if (pa < addr(__data_start)) return pa | P | nx | cache;  // rodata
    return pa | P | RW | nx | cache;                          // data, bss, page pool, per-CPU state
}

// The PDE for the 2 MiB at `base`, from the boot PDE `boot`.
bool hardened_pde(uint64_t base, uint64_t boot, uint64_t& out) {
    bool image = base + LARGE > addr(__image_start) && base < addr(__image_end);
    if (!image) {
        out = boot | (nx_supported ? NX : 0);
        return true;
    }
    uint64_t pt = page_pool::alloc();
    if (!pt) return false;
    auto* e = reinterpret_cast<uint64_t*>(pt);
    for (uint64_t j = 0; j < 512; j++) e[j] = small_page_flags(base + j * PAGE, boot);
    out = pt | P | RW;  // permissions are decided by the 4 KiB entries
    return true;
}

}  // namespace

void enable_protections_on_this_core() {
    if (drivers::cpuid::has_extended(drivers::cpuid::edx81::NX))
        wrmsr(msr::IA32_EFER, rdmsr(msr::IA32_EFER) | efer::NXE);
    write_cr0(read_cr0() | cr0::WP);  // read-only pages bind the hypervisor too
    uint64_t cr4 = read_cr4();
    if (drivers::cpuid::has_structured(drivers::cpuid::ebx7::SMEP)) cr4 |= cr4::SMEP;  // never execute a user page
    if (drivers::cpuid::has_structured(drivers::cpuid::ebx7::SMAP)) cr4 |= cr4::SMAP;  // never touch one without STAC
    write_cr4(cr4);
}

bool build(char* why, size_t n) {
    nx_supported              = rdmsr(msr::IA32_EFER) & efer::NXE;
    const uint64_t* boot_pml4 = reinterpret_cast<const uint64_t*>(read_cr3() & ADDR);
    uint64_t pml4 = page_pool::alloc(), pdpt = page_pool::alloc();
    if (!pml4 || !pdpt) return log::format(why, n, "host page tables: page pool exhausted"), false;
    const uint64_t* boot_pdpt = table(boot_pml4[0]);
    for (uint64_t g = 0; g < 512; g++) {
        if (!(boot_pdpt[g] & P)) continue;
        uint64_t pd = page_pool::alloc();
        if (!pd) return log::format(why, n, "host page tables: page pool exhausted"), false;
        const uint64_t* boot_pd = table(boot_pdpt[g]);
        auto* out               = reinterpret_cast<uint64_t*>(pd);
        for (uint64_t m = 0; m < 512; m++) {
            if (!(boot_pd[m] & P) || !(boot_pd[m] & PS)) {
                out[m] = boot_pd[m];
                continue;
            }
            if (!hardened_pde((g << 30) | (m << 21), boot_pd[m], out[m]))
                return log::format(why, n, "host page tables: page pool exhausted"), false;
        }
        reinterpret_cast<uint64_t*>(pdpt)[g] = pd | P | RW;
    }
    reinterpret_cast<uint64_t*>(pml4)[0] = pdpt | P | RW;
    hardened_root                        = pml4;
    log::print("natsume: memory: host mappings W^X (text 0x%lx-0x%lx read-only), %s, stack guard pages unmapped\n",
               addr(__image_start), addr(__rodata_start),
               nx_supported ? "everything else non-executable" : "no NX on this CPU");
    return true;
}

void load_on_this_core() {
    if (hardened_root) write_cr3(hardened_root);
}

bool verify(char* why, size_t n) {
    auto* text = const_cast<volatile uint8_t*>(reinterpret_cast<const volatile uint8_t*>(&verify));
    if (!store8_faults(text, *text))
        return log::format(why, n, "host mappings: a store to the hypervisor's text did not fault"), false;
    if (!store8_faults(cpus[MAX_CPUS - 1].stack_guard, 0))
        return log::format(why, n, "host mappings: a store to a stack guard page did not fault"), false;
    log::print("natsume: memory: verified: stores to text and to a stack guard page fault\n");
    return true;
}

}  // namespace natsume::x86::host_paging
