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
#include "core/log.hpp"
#include "lib/guest_paging.hpp"
#include "lib/icr_filter.hpp"
#include "lib/insn_decode.hpp"
#include "lib/pci.hpp"
#include "lib/vioapic.hpp"
#include "lib/vpci.hpp"

namespace natsume::x86 {

namespace {
void program_pin(Vcpu& v, uint32_t gsi, const vioapic::Action& a) {
    if (v.part.vioapic->config().remapped) {
        char why[160];
        if (!vtd::program_irte(v.part, a.irte_index, a.vector, a.level, why, sizeof why)) {
            v.part.counters.refused_other++;
            partition_log_refusal(v.part, "IOAPIC pin %u: interrupt-remapping entry refused: %s", a.pin, why);
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
        if (shared_intx::is_shared(unit.gsi_base + a.pin)) shared_intx::guest_pin_changed(v.part, unit.gsi_base + a.pin);
        else if (a.kind == vioapic::Kind::ProgramPin) program_pin(v, unit.gsi_base + a.pin, a);
        break;
    case vioapic::Kind::Eoi:
        // The guest suppressed the local APIC's EOI broadcast (directed EOI).
        ioapic_hw::eoi(unit.gsi_base + a.pin, a.vector);
        break;
    case vioapic::Kind::Refused:
        v.part.counters.refused_other++;
        partition_log_refusal(v.part, "IOAPIC pin %u write refused: %s", a.pin, vioapic::to_string(a.why));
        break;
    default:
        break;
    }
}


bool pci_port_access(Vcpu& v, const IoAccess& io) {
    Partition& p = v.part;
    if (io.string) return false;
    uint32_t mask = io.size == 1 ? 0xffu : io.size == 2 ? 0xffffu : 0xffffffffu;
    if (io.port == pci::kConfigAddressPort && io.size == 4) {
        if (io.in) v.regs.rax = p.cf8;
        else p.cf8 = static_cast<uint32_t>(v.regs.rax);
        return true;
    }
    if (io.port < pci::kConfigDataPort || io.port + io.size > pci::kConfigDataPort + 4) return false;
    pci::PortAccess a = pci::decode_cf8(p.cf8, io.port);
    if (!a.enabled) {
        if (io.in) v.regs.rax = (v.regs.rax & ~uint64_t(mask)) | mask;
        return true;
    }
    if (io.in) {
        uint32_t value = p.vpci.read(a.bdf, a.offset, io.size, pci_hw::access());
        v.regs.rax = (v.regs.rax & ~uint64_t(mask)) | (value & mask);
        return true;
    }
    vpci::WriteResult r = p.vpci.write(a.bdf, a.offset, io.size, static_cast<uint32_t>(v.regs.rax) & mask,
                                       pci_hw::access());
    if (r.kind == vpci::WriteResult::Kind::Refused) {
        char bdf[8];
        pci::format_bdf(bdf, a.bdf);
        p.counters.refused_other++;
        partition_log_refusal(p, "config write to %s offset 0x%x refused: %s", bdf, a.offset, r.why);
    }
    return true;
}


constexpr uint64_t XAPIC_PAGE = 0xfee00000;
constexpr uint32_t XAPIC_ICR_LOW = 0x300, XAPIC_ICR_HIGH = 0x310;

// lapic = "trapped": every access to the xAPIC page reaches the hardware
// except the interrupt command, which may target only the partition's cores.
Action lapic_access(Vcpu& v, uint32_t offset, bool write, uint8_t size, uint32_t& value) {
    auto* reg = reinterpret_cast<volatile uint32_t*>(XAPIC_PAGE + (offset & ~3u));
    if (size != 4 || (offset & 3)) return stop(v, "local APIC register 0x%x accessed with %u bytes", offset, size);
    if (!write) { value = *reg; return Action::Resume; }
    if (offset == XAPIC_ICR_HIGH) { v.part.xapic_icr_high = value; return Action::Resume; }
    if (offset == XAPIC_ICR_LOW) {
        icr::Verdict verdict = icr::check_xapic(value, v.part.xapic_icr_high, icr::Partition{&v.part.apic_id, 1, v.part.apic_id});
        if (!verdict.allow) {
            v.part.counters.refused_other++;
            partition_log_refusal(v.part, "interrupt command 0x%x to APIC ID %u refused: %s", value,
                                  v.part.xapic_icr_high >> 24, verdict.why);
            return Action::Resume;
        }
        *reinterpret_cast<volatile uint32_t*>(XAPIC_PAGE + XAPIC_ICR_HIGH) = v.part.xapic_icr_high;
    }
    *reg = value;
    return Action::Resume;
}

// Fetches and decodes the instruction that touched an emulated MMIO page,
// lets `access` perform it, and advances RIP.
template <typename Access>
Action emulate_mmio(Vcpu& v, const char* what, Access access) {
    Partition& p = v.part;
    uint8_t bytes[insn::kMaxLength];
    size_t fetched = 0;
    gpt::PhysRead mem{read_guest_u64, &p};
    uint64_t rip = vmread(Vmcs::GUEST_RIP);
    gpt::Error ge = gpt::fetch(vmread(Vmcs::GUEST_CR3), rip, bytes, sizeof bytes, mem, fetched);
    if (ge != gpt::Error::Ok && fetched == 0)
        return stop(v, "%s access at RIP 0x%lx: cannot fetch the instruction: %s", what, rip, gpt::to_string(ge));
    insn::Decoded d{};
    insn::Error de = insn::decode(bytes, fetched, d);
    if (de != insn::Error::Ok)
        return stop(v, "%s access at RIP 0x%lx: instruction not emulated (%s, opcode 0x%x)", what, rip,
                    insn::to_string(de), d.opcode);
    uint64_t value = 0;
    if (d.write) {
        uint64_t src = d.src_kind == insn::Operand::Register ? gpr(v.regs, d.reg) : 0;
        value = insn::store_value(d, src);
    }
    if (access(d.write, d.size, value) == Action::Stop) return Action::Stop;
    if (!d.write) set_gpr(v.regs, d.reg, insn::load_result(d, gpr(v.regs, d.reg), value));
    (void)vmwrite(Vmcs::GUEST_RIP, rip + d.length);
    return Action::Resume;
}

}  // namespace

Action on_io(Vcpu& v) {
    IoAccess io = decode_io_access(vmread(Vmcs::EXIT_QUALIFICATION));
    if (pci_port_access(v, io)) {
        skip_instruction();
        return Action::Resume;
    }
    v.part.counters.refused_io++;
    partition_log_refusal(v.part, "%s port 0x%x (%u bytes%s) at RIP 0x%lx: the port belongs to no partition",
                          io.in ? "read from" : "write to", io.port, io.size, io.string ? ", string" : "",
                          vmread(Vmcs::GUEST_RIP));
    if (io.in && !io.string) {
        // Reads of an absent port float high, as on real hardware.
        uint64_t mask = io.size == 1 ? 0xff : io.size == 2 ? 0xffff : 0xffffffffull;
        v.regs.rax = io.size == 4 ? mask : (v.regs.rax & ~mask) | mask;
    }
    skip_instruction();
    return Action::Resume;
}


Action on_ept_violation(Vcpu& v) {
    uint64_t gpa = vmread(Vmcs::GUEST_PHYSICAL_ADDRESS);
    if (v.part.cfg.lapic_mode == NATSUME_LAPIC_TRAPPED && gpa - XAPIC_PAGE < 0x1000) {
        auto offset = static_cast<uint32_t>(gpa - XAPIC_PAGE);
        return emulate_mmio(v, "local APIC", [&](bool write, uint8_t size, uint64_t& value) {
            uint32_t v32 = static_cast<uint32_t>(value);
            Action a = lapic_access(v, offset, write, size, v32);
            value = v32;
            return a;
        });
    }
    for (uint32_t i = 0; i < v.part.device_count; i++) {
        if (!v.part.devices[i].trapped_page || (gpa & ~0xfffull) != v.part.devices[i].trapped_page) continue;
        return emulate_mmio(v, "device register", [&](bool write, uint8_t size, uint64_t& value) {
            uint32_t v32 = static_cast<uint32_t>(value);
            if (!shared_intx::register_access(v.part, gpa, write, size, v32))
                return stop(v, "device register 0x%lx accessed with %u bytes: not emulated", gpa, size);
            value = v32;
            return Action::Resume;
        });
    }
    for (uint32_t i = 0; i < v.part.device_count; i++) {
        const PartitionDevice& d = v.part.devices[i];
        if (!d.msix || !msix::in_table_pages(d.msix_loc, gpa)) continue;
        return emulate_mmio(v, "MSI-X table", [&](bool write, uint8_t size, uint64_t& value) {
            bool refused = false;
            const char* why = "";
            if (!devices::msix_access(v.part, gpa, write, size, value, refused, why))
                return stop(v, "MSI-X table access at 0x%lx not emulated", gpa);
            if (refused) {
                v.part.counters.refused_other++;
                partition_log_refusal(v.part, "MSI-X entry write at 0x%lx refused: %s", gpa, why);
            }
            return Action::Resume;
        });
    }
    if (const pci_hw::EcamWindow& w = pci_hw::ecam(); w.present) {
        uint16_t bdf = 0, offset = 0;
        if (pci::decode_ecam(gpa, w.base, w.start_bus, w.end_bus, bdf, offset))
            return emulate_mmio(v, "PCI ECAM", [&](bool write, uint8_t size, uint64_t& value) {
                // The partition's ECAM accesses see the same filtered space as its port accesses.
                if (size > 4) return stop(v, "ECAM access of %u bytes at 0x%lx", size, gpa);
                if (!write) { value = v.part.vpci.read(bdf, offset, size, pci_hw::access()); return Action::Resume; }
                vpci::WriteResult r = v.part.vpci.write(bdf, offset, size, static_cast<uint32_t>(value), pci_hw::access());
                if (r.kind == vpci::WriteResult::Kind::Refused) {
                    v.part.counters.refused_other++;
                    partition_log_refusal(v.part, "ECAM config write at 0x%lx refused: %s", gpa, r.why);
                }
                return Action::Resume;
            });
    }
    if (v.part.ioapic_gpa && gpa - v.part.ioapic_gpa < 0x1000) {
        auto offset = static_cast<uint32_t>(gpa - v.part.ioapic_gpa);
        return emulate_mmio(v, "IOAPIC", [&](bool write, uint8_t size, uint64_t& value) {
            uint32_t v32 = static_cast<uint32_t>(value);
            vioapic::Action a = write ? v.part.vioapic->write(offset, size, v32) : v.part.vioapic->read(offset, size, v32);
            value = v32;
            apply_ioapic_action(v, a);
            return Action::Resume;
        });
    }
    EptViolation e = decode_ept_violation(vmread(Vmcs::EXIT_QUALIFICATION));
    return stop(v, "EPT violation: %s guest-physical address 0x%lx outside the partition's memory",
                e.fetch ? "instruction fetch at" : e.write ? "write to" : "read of", gpa);
}


}  // namespace natsume::x86
