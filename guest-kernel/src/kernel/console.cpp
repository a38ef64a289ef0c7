#include "kernel/console.h"

#include <natsume/hypercall.h>

#include "devices/uart.h"
#include "kernel/hypercall.h"

namespace natsume::guest::console {
namespace {

Backend g_backend = Backend::None;
uint16_t g_port   = 0;

void write_hypercall(const char* s, size_t n) {
    while (n > 0) {
        size_t chunk = n < NATSUME_CONSOLE_WRITE_MAX ? n : NATSUME_CONSOLE_WRITE_MAX;
        int64_t done = hypercall::console_write(s, chunk);
        if (done <= 0) return;  // nothing else could report the failure
        s += done;
        n -= static_cast<size_t>(done);
    }
}

}  // namespace

void init(Backend backend, uint16_t uart_port) {
    g_backend = backend;
    g_port    = uart_port;
    if (backend == Backend::Uart) uart::init(uart_port);
}

void write(const char* s, size_t n) {
    switch (g_backend) {
    case Backend::Uart: uart::write(g_port, s, n); break;
    case Backend::Hypercall: write_hypercall(s, n); break;
    case Backend::None: break;
    }
}

void write(const char* s) {
    size_t n = 0;
    while (s[n]) ++n;
    write(s, n);
}

void drain() {
    if (g_backend == Backend::Uart) uart::drain(g_port);
}

}  // namespace natsume::guest::console
