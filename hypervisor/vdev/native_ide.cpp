#include "native_ide.hpp"

#include "drivers/block/ata.hpp"

namespace natsume::native_ide {
namespace {

namespace ata = drivers::ata;

// Drops the BARs of slots 0-3 (those of the channels; a controller in
// compatibility mode may implement them and ignore them), keeping the rest packed.
void drop_channel_bars(pci::Function& f) {
    uint8_t kept = 0;
    for (uint8_t i = 0; i < f.bar_count; i++)
        if (f.bars[i].index > 3) f.bars[kept++] = f.bars[i];
    f.bar_count = kept;
}

void add_io_bar(pci::Function& f, uint8_t slot, uint64_t base, uint64_t size) {
    if (f.bar_count >= pci::MAX_BARS) return;
    f.bars[f.bar_count++] = pci::Bar{slot, true, false, false, base, size};
}

}  // namespace

Outcome apply(pci::Function& f, bool secondary) {
    if (!ata::is_ide(f.class_code, f.subclass)) return Outcome::NotIde;
    if (!ata::compatibility_mode(f.prog_if, secondary)) return Outcome::AlreadyNative;
    const ata::LegacyChannel& c = secondary ? ata::SECONDARY : ata::PRIMARY;
    drop_channel_bars(f);
    const uint8_t slot = ata::command_bar(secondary);
    add_io_bar(f, slot, c.command, ata::COMMAND_BLOCK_PORTS);
    add_io_bar(f, static_cast<uint8_t>(slot + 1), c.control - ata::NATIVE_CONTROL_REGISTER,
               ata::NATIVE_CONTROL_BLOCK_PORTS);
    f.prog_if = static_cast<uint8_t>(f.prog_if | ata::PROG_IF_PRIMARY_NATIVE | ata::PROG_IF_SECONDARY_NATIVE);
    f.irq_pin = 1;  // INTA#
    return Outcome::Shown;
}

}  // namespace natsume::native_ide
