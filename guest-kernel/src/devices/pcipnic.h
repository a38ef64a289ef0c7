// Driver for Bochs' pcipnic (fefe:efef): enough of it to raise and lower its
// INTx line on command, which is what the shared-line tests need. One device
// per kernel; no frames are sent or received.
#pragma once
#include <stdint.h>

#include "drivers/net/pcipnic.hpp"

namespace natsume::guest::pcipnic {

// Registers and the command protocol: drivers/net/pcipnic.hpp.
using namespace natsume::drivers::pcipnic;

enum class Status : uint8_t { Ok, NoDevice, BadBar, NoResponse, BadApiVersion };
const char* status_name(Status s);

struct Info {
    uint16_t bdf         = 0;
    uint16_t io_base     = 0;
    uint32_t gsi         = 0xffffffffu;
    uint16_t api_version = 0;
    uint8_t mac[6]       = {};
};

// Finds the device (in a partition: the boot info's fefe:efef; natively: PCI
// enumeration), enables I/O decoding, resets it, checks the API version and
// reads the MAC. Interrupts stay disabled (MASK_IRQ 0), the line low.
[[nodiscard]] Status init();
const Info& info();

Reply command(Command c, const uint8_t* in = nullptr, uint16_t in_len = 0, uint8_t* out = nullptr,
              uint16_t out_cap = 0);
// MASK_IRQ: enable=true with an empty receive queue also lowers the line.
[[nodiscard]] bool set_irq_enabled(bool enable);
// FORCE_IRQ: asserts INTx.
[[nodiscard]] bool force_irq();
// RECV_QLEN; 0xffff when the command fails.
uint16_t receive_queue_length();

}  // namespace natsume::guest::pcipnic
