// Hypervisor console. Every line the hypervisor prints starts with
// "natsume: <subsystem>: " so logs can be grepped; partition consoles are
// printed as "[<partition>] <text>". One line is written atomically.
#pragma once
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

namespace natsume::log {
void init();
// printf subset: %s %c %d %i %u %x %X %p %%, flags '0' '-', width, length l/ll/z.
void print(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void vprint(const char* fmt, va_list ap);
// Formats into buf (always NUL-terminated); returns the length written.
size_t format(char* buf, size_t size, const char* fmt, ...) __attribute__((format(printf, 3, 4)));
size_t vformat(char* buf, size_t size, const char* fmt, va_list ap);
// Raw bytes, for partition console lines already prefixed by the caller.
void write(const char* s, size_t n);
// Deferred output: from now on lines are queued and wake() is called when
// the queue was empty; the core that wakes calls flush_pending(). Until then,
// and after drain(), lines go straight to the UART.
void defer_to(bool (*wake)());  // wake returns whether it reached the drainer
bool flush_pending();           // true when it wrote anything
bool pending();                 // lines are queued
// Writes out everything queued, waits for the UART, and turns deferral off
// (the stop and panic paths).
void drain();
}  // namespace natsume::log
