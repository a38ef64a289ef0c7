// Machine-readable test output. One line per result:
//   NATSUME-RESULT {"test":"<name>","status":"pass"|"fail",<extra fields>}
// and at the end:
//   NATSUME-DONE pass=N fail=M
#pragma once
#include <stdarg.h>
#include <stddef.h>

namespace natsume::guest::results {

// Formats a result line (without newline) into buf; extra_fmt/args give
// additional JSON members, e.g. "\"ticks\":%u", or nullptr. Returns the
// length snprintf would have produced.
int format(char* buf, size_t size, const char* test, bool pass, const char* extra_fmt, va_list args);

// Prints one result line and counts it.
void report(const char* test, bool pass, const char* extra_fmt = nullptr, ...) __attribute__((format(printf, 3, 4)));
void done();
unsigned passed();
unsigned failed();

}  // namespace natsume::guest::results
