// I/O-port and MMIO exits: PCI configuration ports, the trapped IOAPIC, xAPIC,
// ECAM, MSI-X and device register pages — each emulated from the decoded
// instruction; everything else is refused or stops the partition.

#include "arch/x86/devices.hpp"
#include "arch/x86/exit_context.hpp"
#include "arch/x86/ioapic_hw.hpp"
#include "arch/x86/pci_hw.hpp"
#include "arch/x86/shared_intx.hpp"
#include "arch/x86/vmx.hpp"
#include "arch/x86/vmx_defs.hpp"
#include "arch/x86/vtd/platform.hpp"
#include "base/log.hpp"
#include "lib/guest_paging.hpp"
#include "lib/insn_decode.hpp"
#include "lib/pci.hpp"
#include "vdev/icr_filter.hpp"
#include "vdev/lvt.hpp"
#include "vdev/vioapic.hpp"
#include "vdev/vpci.hpp"

namespace natsume::x86 {

namespace {
void program_pin(Vcpu& v, uint32_t gsi, const vioapic::Action& a) {
    if (v.part.devices.vioapic->config().remapped) {
        char why[160];
        if (!vtd::program_irte(v.part, a.irte_index, a.vector, a.level, a.dest_apic_id, why, sizeof why)) {
            partition_refuse(v.part, Refusal::Ioapic, "IOAPIC pin %u: interrupt-remapping entry refused: %s", a.pin,
                             why);
            return;
        }
    }
    ioapic_hw::write_entry(gsi, a.low, a.high);
}

void apply_ioapic_action(Vcpu& v, const vioapic::Action& a) {
    const ioapic_hw::Unit& unit = ioapic_hw::unit(0);
    switch (a.kind) {
    case vioapic::Kind::ProgramPin:
    case vioapic::Kind::ShadowOnly:
        // A shared line stays the hypervisor's; the guest's entry only says
        // which vector it wants and whether it is masked.
        if (shared_intx::is_shared(unit.gsi_base + a.pin))
            shared_intx::guest_pin_changed(v.part, unit.gsi_base + a.pin);
        else if (a.kind == vioapic::Kind::ProgramPin)
            program_pin(v, unit.gsi_base + a.pin, a);
        break;
    case vioapic::Kind::Eoi:
        // The guest suppressed the local APIC's EOI broadcast (directed EOI).
        // The EOI register would clear Remote IRR on every entry with this
        // vector, other partitions' and the hypervisor's too: only the
        // partition's own pins are acknowledged (ioapic_hw::eoi_pin).
        for (uint8_t pin = 0; pin < unit.pins && pin < vioapic::MAX_PINS; pin++)
            if (v.part.devices.vioapic->owns(pin) &&
                (v.part.devices.vioapic->shadow(pin) & drivers::ioapic::VECTOR_MASK) == a.vector &&
                !shared_intx::is_shared(unit.gsi_base + pin))
                ioapic_hw::eoi_pin(unit.gsi_base + pin);
        break;
    case vioapic::Kind::Refused:
        partition_refuse(v.part, Refusal::Ioapic, "IOAPIC pin %u write refused: %s", a.pin, vioapic::to_string(a.why));
        break;
    default: break;
    }
}

bool pci_port_access(Vcpu& v, const IoAccess& io) {
    Partition& p = v.part;
    if (io.string) return false;
    uint32_t mask = io.size == 1 ? 0xffu : io.size == 2 ? 0xffffu : 0xffffffffu;
    if (io.port == pci::CONFIG_ADDRESS_PORT && io.size == 4) {
        if (io.in)
            v.regs.rax = p.devices.cf8;
        else
            p.devices.cf8 = static_cast<uint32_t>(v.regs.rax);
        return true;
    }
    if (io.port < pci::CONFIG_DATA_PORT || io.port + io.size > pci::CONFIG_DATA_PORT + 4) return false;
    pci::PortAccess a = pci::decode_cf8(p.devices.cf8, io.port);
    if (!a.enabled) {
        if (io.in) v.regs.rax = (v.regs.rax & ~uint64_t(mask)) | mask;
        return true;
    }
    if (io.in) {
        uint32_t value = p.devices.vpci.read(a.bdf, a.offset, io.size, pci_hw::access());
        v.regs.rax     = (v.regs.rax & ~uint64_t(mask)) | (value & mask);
        return true;
    }
    vpci::WriteResult r =
        p.devices.vpci.write(a.bdf, a.offset, io.size, static_cast<uint32_t>(v.regs.rax) & mask, pci_hw::access());
    if (r.kind == vpci::WriteResult::Kind::Refused) {
        char bdf[8];
        pci::format_bdf(bdf, a.bdf);
        partition_refuse(p, Refusal::PciConfig, "config write to %s offset 0x%x refused: %s", bdf, a.offset, r.why);
    }
    return true;
}

namespace apic                = drivers::lapic;
constexpr uint64_t XAPIC_PAGE = apic::XAPIC_DEFAULT_BASE;
constexpr uint32_t XAPIC_ID = apic::offset(apic::Reg::Id), XAPIC_LDR = apic::offset(apic::Reg::Ldr),
                   XAPIC_DFR = apic::offset(apic::Reg::Dfr), XAPIC_ICR_LOW = apic::offset(apic::Reg::IcrLow),
                   XAPIC_ICR_HIGH = apic::offset(apic::Reg::IcrHigh);

Action lapic_icr_write(Vcpu& v, uint32_t value) {
    icr::Verdict verdict = icr::check_xapic(value, v.cpu.vcpu.xapic_icr_high, own_cores(v));
    if (!verdict.allow) {
        partition_refuse(v.part, Refusal::Ipi, "interrupt command 0x%x to APIC ID %u refused: %s", value,
                         apic::Icr::xapic_destination(v.cpu.vcpu.xapic_icr_high), verdict.why);
        return Action::Resume;
    }
    if (verdict.reason == icr::Reason::PartitionBroadcast) {
        send_fanout(v, verdict.fanout, static_cast<uint8_t>(value));
        return Action::Resume;
    }
    *reinterpret_cast<volatile uint32_t*>(XAPIC_PAGE + XAPIC_ICR_HIGH) = v.cpu.vcpu.xapic_icr_high;
    *reinterpret_cast<volatile uint32_t*>(XAPIC_PAGE + XAPIC_ICR_LOW)  = value;
    return Action::Resume;
}

// lapic = "trapped": every access to the xAPIC page reaches the hardware
// except what could reach beyond the partition's core: the interrupt
// command (own cores only), the addressing registers (APIC ID, LDR, DFR:
// logical destinations of other senders) and LVT delivery modes (lvt.hpp).
// A refused write is dropped: the guest expects the store to complete.
Action lapic_access(Vcpu& v, uint32_t offset, bool write, uint8_t size, uint32_t& value) {
    auto* reg = reinterpret_cast<volatile uint32_t*>(XAPIC_PAGE + (offset & ~3u));
    if (size != 4 || (offset & 0xf))
        return refuse_gp(v, Refusal::Lapic,
                         "local APIC register 0x%x accessed with %u bytes at RIP 0x%lx: #GP injected", offset, size,
                         vmcs::read<Vmcs::GUEST_RIP>());
    if (!write) {
        value = *reg;
        return Action::Resume;
    }
    if (offset == XAPIC_ICR_HIGH) {
        v.cpu.vcpu.xapic_icr_high = value;
        return Action::Resume;
    }
    if (offset == XAPIC_ICR_LOW) return lapic_icr_write(v, value);
    if (offset == XAPIC_ID || offset == XAPIC_LDR || offset == XAPIC_DFR) {
        partition_refuse(v.part, Refusal::Lapic, "local APIC %s write 0x%x ignored: addressing is the hypervisor's",
                         offset == XAPIC_ID    ? "ID"
                         : offset == XAPIC_LDR ? "LDR"
                                               : "DFR",
                         value);
        return Action::Resume;
    }
    if (const char* why = lvt::refuse_reason(offset, value)) {
        partition_refuse(v.part, Refusal::Lapic, "LVT register 0x%x write 0x%x dropped: %s", offset, value, why);
        return Action::Resume;
    }
    *reg = value;
    return Action::Resume;
}

// Fetches and decodes the instruction that touched an emulated MMIO page,
// lets `access` perform it, and advances RIP.
template <typename Access>
Action emulate_mmio(Vcpu& v, uint64_t gpa, const char* what, Access access) {
    Partition& p = v.part;
    uint8_t bytes[insn::MAX_LENGTH];
    size_t fetched = 0;
    gpt::PhysRead mem{read_guest_u64, &p};
    uint64_t rip = vmcs::read<Vmcs::GUEST_RIP>(), cr3 = vmcs::read<Vmcs::GUEST_CR3>();
    // Most MMIO instructions fit in 8 bytes: fetch those first, and all 15
    // only when the decoder says the instruction goes on.
    constexpr size_t FIRST_FETCH = 8;
    gpt::Error ge                = gpt::fetch(cr3, rip, bytes, FIRST_FETCH, mem, fetched);
    insn::Decoded d{};
    insn::Error de = fetched ? insn::decode(bytes, fetched, d) : insn::Error::Truncated;
    if (de == insn::Error::Truncated && fetched == FIRST_FETCH) {
        ge = gpt::fetch(cr3, rip, bytes, sizeof bytes, mem, fetched);
        d  = insn::Decoded{};
        de = insn::decode(bytes, fetched, d);
    }
    // What cannot be emulated is refused with #GP: the partition goes on.
    if (ge != gpt::Error::Ok && fetched == 0)
        return refuse_gp(v, Refusal::Emulation,
                         "%s access at RIP 0x%lx: cannot fetch the instruction (%s): #GP injected", what, rip,
                         gpt::to_string(ge));
    if (de != insn::Error::Ok)
        return refuse_gp(v, Refusal::Emulation,
                         "%s access at RIP 0x%lx: instruction not emulated (%s, opcode 0x%x): "
                         "#GP injected",
                         what, rip, insn::to_string(de), d.opcode);
    // An access that runs past the end of the page would touch a page the
    // partition may not own.
    if ((gpa & 0xfff) + d.size > 0x1000)
        return refuse_gp(v, Refusal::Emulation, "%s access of %u bytes at 0x%lx crosses a page: #GP injected", what,
                         d.size, gpa);
    uint64_t value = 0;
    if (d.write) {
        uint64_t src = d.src_kind == insn::Operand::Register ? gpr(v.regs, d.reg) : 0;
        value        = insn::store_value(d, src);
    }
    if (access(d.write, d.size, value) == Action::Stop) return Action::Stop;
    if (!d.write) set_gpr(v.regs, d.reg, insn::load_result(d, gpr(v.regs, d.reg), value));
    vmcs::write<Vmcs::GUEST_RIP>(rip + d.length);
    return Action::Resume;
}

}  // namespace

Action on_io(Vcpu& v) {
    IoAccess io = decode_io_access(vmcs::read<Vmcs::EXIT_QUALIFICATION>());
    if (Action a; linux_port_access(v, io, a)) return a;
    if (pci_port_access(v, io)) {
        skip_instruction();
        return Action::Resume;
    }
    partition_refuse_port(v.part, io.port,
                          "%s port 0x%x (%u bytes%s) at RIP 0x%lx: the port belongs to no partition (further "
                          "accesses to it are counted, not logged)",
                          io.in ? "read from" : "write to", io.port, io.size, io.string ? ", string" : "",
                          vmcs::read<Vmcs::GUEST_RIP>());
    if (io.in && !io.string) {
        // Reads of an absent port float high, as on real hardware.
        uint64_t mask = io.size == 1 ? 0xff : io.size == 2 ? 0xffff : 0xffffffffull;
        v.regs.rax    = io.size == 4 ? mask : (v.regs.rax & ~mask) | mask;
    }
    skip_instruction();
    return Action::Resume;
}

namespace {
Action emulate_lapic(Vcpu& v, uint64_t gpa) {
    auto offset = static_cast<uint32_t>(gpa - XAPIC_PAGE);
    return emulate_mmio(v, gpa, "local APIC", [&](bool write, uint8_t size, uint64_t& value) {
        uint32_t v32 = static_cast<uint32_t>(value);
        Action a     = lapic_access(v, offset, write, size, v32);
        value        = v32;
        return a;
    });
}

Action emulate_device_register(Vcpu& v, uint64_t gpa) {
    return emulate_mmio(v, gpa, "device register", [&](bool write, uint8_t size, uint64_t& value) {
        uint32_t v32 = static_cast<uint32_t>(value);
        if (!shared_intx::register_access(v.part, gpa, write, size, v32))
            return refuse_gp(v, Refusal::Emulation, "device register 0x%lx accessed with %u bytes: #GP injected", gpa,
                             size);
        value = v32;
        return Action::Resume;
    });
}

Action emulate_msix(Vcpu& v, uint64_t gpa) {
    return emulate_mmio(v, gpa, "MSI-X table", [&](bool write, uint8_t size, uint64_t& value) {
        bool refused    = false;
        const char* why = "";
        if (!devices::msix_access(v.part, gpa, write, size, value, refused, why))
            return refuse_gp(v, Refusal::Msix, "MSI-X table access of %u bytes at 0x%lx: #GP injected", size, gpa);
        if (refused) partition_refuse(v.part, Refusal::Msix, "MSI-X table access at 0x%lx refused: %s", gpa, why);
        return Action::Resume;
    });
}

Action emulate_ecam(Vcpu& v, uint64_t gpa) {
    const pci_hw::EcamWindow& w = pci_hw::ecam();
    uint16_t bdf = 0, offset = 0;
    if (!pci::decode_ecam(gpa, w.base, w.start_bus, w.end_bus, bdf, offset))
        return refuse_gp(v, Refusal::PciConfig, "ECAM access at 0x%lx outside the window: #GP injected", gpa);
    return emulate_mmio(v, gpa, "PCI ECAM", [&](bool write, uint8_t size, uint64_t& value) {
        // The partition's ECAM accesses see the same filtered space as its port accesses.
        if (size > 4)
            return refuse_gp(v, Refusal::PciConfig, "ECAM access of %u bytes at 0x%lx: #GP injected", size, gpa);
        if (!write) {
            value = v.part.devices.vpci.read(bdf, offset, size, pci_hw::access());
            return Action::Resume;
        }
        vpci::WriteResult r =
            v.part.devices.vpci.write(bdf, offset, size, static_cast<uint32_t>(value), pci_hw::access());
        if (r.kind == vpci::WriteResult::Kind::Refused)
            partition_refuse(v.part, Refusal::PciConfig, "ECAM config write at 0x%lx refused: %s", gpa, r.why);
        return Action::Resume;
    });
}

Action emulate_ioapic(Vcpu& v, uint64_t gpa) {
    auto offset = static_cast<uint32_t>(gpa - v.part.devices.ioapic_gpa);
    return emulate_mmio(v, gpa, "IOAPIC", [&](bool write, uint8_t size, uint64_t& value) {
        uint32_t v32 = static_cast<uint32_t>(value);
        vioapic::Action a =
            write ? v.part.devices.vioapic->write(offset, size, v32) : v.part.devices.vioapic->read(offset, size, v32);
        value = v32;
        apply_ioapic_action(v, a);
        return Action::Resume;
    });
}

Action emulate_region(Vcpu& v, const MmioRegion& r, uint64_t gpa) {
    switch (r.kind) {
    case MmioKind::Lapic: return emulate_lapic(v, gpa);
    case MmioKind::Ioapic: return emulate_ioapic(v, gpa);
    case MmioKind::DeviceRegister: return emulate_device_register(v, gpa);
    case MmioKind::MsixTable: return emulate_msix(v, gpa);
    case MmioKind::Ecam: return emulate_ecam(v, gpa);
    }
    return stop(v, "emulated region of unknown kind %u at 0x%lx (hypervisor bug)", static_cast<unsigned>(r.kind), gpa);
}
}  // namespace

// Every page the partition's EPT leaves out on purpose is in its MMIO
// registry (partition_build.cpp): the registry says which emulation runs.
Action on_ept_violation(Vcpu& v) {
    uint64_t gpa        = vmcs::read<Vmcs::GUEST_PHYSICAL_ADDRESS>();
    EptViolation e      = decode_ept_violation(vmcs::read<Vmcs::EXIT_QUALIFICATION>());
    const MmioRegion* r = v.part.devices.mmio.find(gpa);
    // The processor's own page walk (not the instruction's access) reached a
    // page the hypervisor emulates: the guest keeps page tables there.
    // Emulating it as the instruction's operand would hand the walk register
    // values as entries (and a store to the instruction's target could land
    // on the device), so the access is refused (SDM Vol. 3C 28.2.1, Table
    // 28-7: bit 7 set and bit 8 clear = an access to a paging-structure entry).
    if (e.linear_valid && !e.final_translation) {
        if (r)
            return refuse_gp(v, Refusal::Emulation,
                             "guest page walk for linear 0x%lx at RIP 0x%lx reads the %s page at "
                             "0x%lx: page tables in an emulated page, #GP injected",
                             vmcs::read<Vmcs::GUEST_LINEAR_ADDRESS>(), vmcs::read<Vmcs::GUEST_RIP>(),
                             to_string(r->kind), gpa);
        return stop(v,
                    "EPT violation: guest page walk for linear 0x%lx reads guest-physical 0x%lx outside the "
                    "partition's memory",
                    vmcs::read<Vmcs::GUEST_LINEAR_ADDRESS>(), gpa);
    }
    if (r) return emulate_region(v, *r, gpa);
    return stop(v, "EPT violation: %s guest-physical address 0x%lx outside the partition's memory",
                e.fetch   ? "instruction fetch at"
                : e.write ? "write to"
                          : "read of",
                gpa);
}

}  // namespace natsume::x86
