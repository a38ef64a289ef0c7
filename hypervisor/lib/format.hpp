// printf-style formatting with no C library: used by the hypervisor console
// and host-tested. Subset: %s %c %d %i %u %x %X %p %%, flags '0' '-', width,
// length modifiers l, ll, z. Output is always NUL-terminated and truncated to fit.
#pragma once
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

namespace natsume::fmt {
size_t vformat(char* buf, size_t size, const char* fmt, va_list ap);
size_t format(char* buf, size_t size, const char* fmt, ...) __attribute__((format(printf, 3, 4)));
}  // namespace natsume::fmt
