#include "tests/results.h"

#include <stdio.h>

namespace natsume::guest::results {
namespace {
unsigned g_pass = 0;
unsigned g_fail = 0;
}  // namespace

int format(char* buf, size_t size, const char* test, bool pass, const char* extra_fmt, va_list args) {
    int n = snprintf(buf, size, "NATSUME-RESULT {\"test\":\"%s\",\"status\":\"%s\"", test, pass ? "pass" : "fail");
    if (n < 0 || static_cast<size_t>(n) >= size) return n;
    if (extra_fmt && *extra_fmt) {
        buf[n++] = ',';
        int m    = vsnprintf(buf + n, size - static_cast<size_t>(n), extra_fmt, args);
        if (m < 0) return m;
        n += m;
    }
    if (static_cast<size_t>(n) + 1 < size) {
        buf[n]     = '}';
        buf[n + 1] = '\0';
    }
    return n + 1;
}

void report(const char* test, bool pass, const char* extra_fmt, ...) {
    char line[512];
    va_list args;
    va_start(args, extra_fmt);
    format(line, sizeof line, test, pass, extra_fmt, args);
    va_end(args);
    printf("%s\n", line);
    fflush(stdout);
    ++(pass ? g_pass : g_fail);
}

void done() {
    printf("NATSUME-DONE pass=%u fail=%u\n", g_pass, g_fail);
    fflush(stdout);
}

unsigned passed() { return g_pass; }
unsigned failed() { return g_fail; }

}  // namespace natsume::guest::results
