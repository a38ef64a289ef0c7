// Hypercall vectors: lengths, wrapping and straddling buffers, unknown
// numbers, and a console flood. None may stop the caller.
#include <string.h>

#include <natsume/hypercall.h>

#include "arch/cpu.h"
#include "boot/boot.h"
#include "lib/cmdline.h"
#include "tests/device_common.h"
#include "tests/hostile.h"

namespace natsume::guest::hostile {
namespace {

using ll  = long long;
using ull = unsigned long long;

const char g_text[] = "hostile console write\n";

void call(const char* name, const char* expect, uint64_t nr, uint64_t a0, uint64_t a1, int64_t want) {
    Attempt a(name, "hypercall", expect);
    int64_t ret    = 0;
    probe::Fault f = probe::vmcall(nr, a0, a1, 0, ret);
    a.report(f.none() && ret == want, f, "\"nr\":\"0x%llx\",\"rdi\":\"0x%llx\",\"rsi\":\"0x%llx\",\"ret\":%lld",
             ull{nr}, ull{a0}, ull{a1}, ll{ret});
}

}  // namespace

void run_hypercall() {
    const uint64_t ram  = boot::context().ram_size;
    const uint64_t text = reinterpret_cast<uintptr_t>(g_text);
    call("hc-console-len-4097", "EINVAL", NATSUME_HC_CONSOLE_WRITE, text, NATSUME_CONSOLE_WRITE_MAX + 1,
         NATSUME_EINVAL);
    call("hc-console-len-2e63", "EINVAL", NATSUME_HC_CONSOLE_WRITE, text, 1ull << 63, NATSUME_EINVAL);
    call("hc-console-len-max", "EINVAL", NATSUME_HC_CONSOLE_WRITE, text, ~0ull, NATSUME_EINVAL);
    call("hc-console-wrap", "EFAULT (gpa ~0, length 16 wraps)", NATSUME_HC_CONSOLE_WRITE, ~0ull, 16, NATSUME_EFAULT);
    call("hc-console-straddle", "EFAULT (straddles the end of RAM)", NATSUME_HC_CONSOLE_WRITE, ram - 8, 16,
         NATSUME_EFAULT);
    call("hc-console-outside", "EFAULT (just past RAM)", NATSUME_HC_CONSOLE_WRITE, ram, 1, NATSUME_EFAULT);
    call("hc-info-straddle", "EFAULT", NATSUME_HC_PARTITION_INFO, ram - 8, 0, NATSUME_EFAULT);
    call("hc-info-wrap", "EFAULT", NATSUME_HC_PARTITION_INFO, ~0ull, 0, NATSUME_EFAULT);
    call("hc-stats-straddle", "EFAULT", NATSUME_HC_STATS_READ, ram - 8, 0, NATSUME_EFAULT);
    call("hc-stats-wrap", "EFAULT", NATSUME_HC_STATS_READ, ~0ull, 0, NATSUME_EFAULT);
    call("hc-unknown-first", "ENOSYS", NATSUME_HC_COUNT, 0, 0, NATSUME_ENOSYS);  // the first number past the table
    call("hc-unknown-ffffffff", "ENOSYS", 0xffffffffull, 0, 0, NATSUME_ENOSYS);
    call("hc-unknown-2e63", "ENOSYS", 1ull << 63, 0, 0, NATSUME_ENOSYS);
}

// flood=N console writes of 200 bytes (default 2000): the hypervisor keeps
// running (and may drop or shorten the flood, saying so); the caller is
// never stopped, every call returns a count or an error.
void run_flood() {
    uint64_t n = cmdline::get_u64(boot::context().cmdline, "flood", 2000);
    static char line[200];
    memset(line, 'f', sizeof line);
    memcpy(line, "hostile flood ", 14);
    line[sizeof line - 1] = '\n';
    Attempt a("hc-console-flood", "hypercall",
              "every call returns, the caller keeps running, the rate limit drops and counts bytes");
    natsume_stats before{}, after{};
    bool stats        = device_tests::read_stats(before);
    uint64_t start    = cpu::rdtsc();
    uint64_t accepted = 0, bytes = 0, errors = 0;
    probe::Fault worst{};
    for (uint64_t i = 0; i < n; ++i) {
        int64_t ret = 0;
        probe::Fault f =
            probe::vmcall(NATSUME_HC_CONSOLE_WRITE, reinterpret_cast<uintptr_t>(line), sizeof line, 0, ret);
        if (!f.none()) worst = f;
        if (ret >= 0) {
            ++accepted;
            bytes += static_cast<uint64_t>(ret);
        } else {
            ++errors;
        }
    }
    uint64_t ticks   = cpu::rdtsc() - start;
    stats            = stats && device_tests::read_stats(after);
    uint64_t dropped = stats ? after.console_dropped - before.console_dropped : 0;
    output_budget_spent();  // the result line waits until the rate limit lets it through
    // 2000 x 200 bytes is far beyond the 16 KiB burst: most of it must be dropped and counted.
    bool limited = n * sizeof line <= 16384 || (stats && dropped > 0);
    a.report(worst.none() && accepted + errors == n && limited, worst,
             "\"calls\":%llu,\"accepted\":%llu,\"bytes\":%llu,\"errors\":%llu,\"tsc_ticks\":%llu,"
             "\"console_dropped\":%llu",
             ull{n}, ull{accepted}, ull{bytes}, ull{errors}, ull{ticks}, ull{dropped});
}

}  // namespace natsume::guest::hostile
