// The kernel console: COM1 natively, the hypercall console or a passed-through
// UART in a partition. Plain byte writes, safe from interrupt handlers.
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace natsume::guest::console {

enum class Backend : uint8_t { None, Uart, Hypercall };

void init(Backend backend, uint16_t uart_port);
void write(const char* s, size_t n);
void write(const char* s);
// Blocks (bounded) until everything written has left the machine.
void drain();

}  // namespace natsume::guest::console
