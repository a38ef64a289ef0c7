#include "core/log.hpp"

#include "arch/x86/serial.hpp"
#include "core/spinlock.hpp"
#include "lib/format.hpp"

namespace natsume::log {
namespace {
Spinlock console_lock;
}  // namespace

size_t vformat(char* buf, size_t size, const char* fmt, va_list ap) { return fmt::vformat(buf, size, fmt, ap); }

size_t format(char* buf, size_t size, const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    size_t n = fmt::vformat(buf, size, fmt, ap);
    va_end(ap);
    return n;
}

void init() { serial::init(); }

void write(const char* s, size_t n) {
    LockGuard g(console_lock);
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\n') serial::put('\r');
        serial::put(s[i]);
    }
}

void vprint(const char* fmt, va_list ap) {
    char line[512];
    size_t n = vformat(line, sizeof line, fmt, ap);
    write(line, n);
}

void print(const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vprint(fmt, ap);
    va_end(ap);
}

void drain() { serial::drain(); }

}  // namespace natsume::log
