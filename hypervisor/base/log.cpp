#include "base/log.hpp"

#include <atomic>

#include "drivers/x86/cpu.hpp"

#include "base/serial.hpp"
#include "base/spinlock.hpp"
#include "lib/byte_ring.hpp"
#include "lib/format.hpp"

namespace natsume::log {
namespace {
Spinlock uart_lock;   // the UART itself
Spinlock ring_lock;   // the ring's indexes
Spinlock drain_lock;  // one drainer at a time keeps the output in order
// Deferred mode: lines go into this ring and the boot core writes them out,
// so no partition core ever waits for the UART (a flooding partition cannot
// hold up another one's exit handling for the time a line takes to send).
constexpr size_t RING_BYTES = 64 * 1024;
char ring_storage[RING_BYTES];
constinit ByteRing ring(ring_storage, RING_BYTES);  // no constructor run at boot
// Set once by the boot core before partitions run, cleared on the stop path;
// any core reads it (acquire: the drainer's state is set up before it is named).
std::atomic<bool (*)()> wake_drainer;
std::atomic<bool> wake_owed;  // the last wake-up could not be sent: the next line tries again

// The ring lock is also taken from interrupt handlers (a handler's log line
// while its core drains): held with interrupts off only.
class RingGuard {
public:
    RingGuard() : flags_(x86::read_rflags()) {
        x86::cli();
        ring_lock.lock();
    }
    ~RingGuard() {
        ring_lock.unlock();
        if (flags_ & IF) asm volatile("sti" ::: "memory");
    }
    RingGuard(const RingGuard&)            = delete;
    RingGuard& operator=(const RingGuard&) = delete;

private:
    static constexpr uint64_t IF = 1u << 9;
    uint64_t flags_;
};

void to_uart(const char* s, size_t n) {
    LockGuard g(uart_lock);
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\n') serial::put('\r');
        serial::put(s[i]);
    }
}
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
    bool (*wake)() = wake_drainer.load(std::memory_order_acquire);
    if (!wake) {
        to_uart(s, n);
        return;
    }
    bool was_empty, queued;
    {
        RingGuard g;
        was_empty = ring.empty();
        queued    = ring.push(s, n);
    }
    if (queued && (was_empty || wake_owed.load(std::memory_order_relaxed)))
        wake_owed.store(!wake(), std::memory_order_relaxed);
}

void defer_to(bool (*wake)()) { wake_drainer.store(wake, std::memory_order_release); }

// Writes the queue out chunk by chunk; the UART is written with the caller's
// interrupt state, so a core draining with interrupts on keeps serving them.
bool flush_queue() {
    bool any = false;
    for (;;) {
        char chunk[256];
        size_t n;
        uint64_t dropped;
        {
            RingGuard g;
            n       = ring.pop(chunk, sizeof chunk);
            dropped = n ? 0 : ring.take_dropped();
        }
        if (dropped) {
            char note[96];
            to_uart(note, format(note, sizeof note, "natsume: log: %lu bytes dropped (console ring full)\n", dropped));
        }
        if (!n) return any;
        to_uart(chunk, n);
        any = true;
    }
}

bool pending() {
    RingGuard g;
    return !ring.empty();
}

bool flush_pending() {
    LockGuard d(drain_lock);
    return flush_queue();
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

void drain() {
    wake_drainer.store(nullptr, std::memory_order_release);  // from here on every line goes straight out
    // The stop and panic paths: if the drainer cannot be had within a bounded
    // wait (this very core may hold it, interrupted), write out regardless.
    bool locked = false;
    for (uint32_t i = 0; i < 1000000 && !(locked = drain_lock.try_lock()); i++) x86::pause();
    flush_queue();
    if (locked) drain_lock.unlock();
    serial::drain();
}

}  // namespace natsume::log
