// The one fatal path: print what failed and where, then stop the machine.
#pragma once

namespace natsume {
[[noreturn]] void panic_at(const char* file, int line, const char* fmt, ...) __attribute__((format(printf, 3, 4)));
// Stops the emulator when the command line asked for it (tests), else halts.
[[noreturn]] void machine_stop(int code);
}  // namespace natsume

#define NATSUME_PANIC(...) ::natsume::panic_at(__FILE__, __LINE__, __VA_ARGS__)
#define NATSUME_ASSERT(cond, ...)                \
    do {                                         \
        if (!(cond)) NATSUME_PANIC(__VA_ARGS__); \
    } while (0)
