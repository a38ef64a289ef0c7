// Ticket lock: FIFO order so no core starves another on the console.
#pragma once
#include <stdint.h>

namespace natsume {

class Spinlock {
public:
    void lock() {
        uint32_t me = __atomic_fetch_add(&next_, 1, __ATOMIC_ACQUIRE);
        while (__atomic_load_n(&serving_, __ATOMIC_ACQUIRE) != me) asm volatile("pause");
    }
    void unlock() { __atomic_fetch_add(&serving_, 1, __ATOMIC_RELEASE); }
    // Takes the lock only if nobody holds or waits for it.
    bool try_lock() {
        uint32_t s        = __atomic_load_n(&serving_, __ATOMIC_ACQUIRE);
        uint32_t expected = s;
        return __atomic_compare_exchange_n(&next_, &expected, s + 1, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
    }

private:
    uint32_t next_    = 0;
    uint32_t serving_ = 0;
};

class LockGuard {
public:
    explicit LockGuard(Spinlock& l) : l_(l) { l_.lock(); }
    ~LockGuard() { l_.unlock(); }
    LockGuard(const LockGuard&)            = delete;
    LockGuard& operator=(const LockGuard&) = delete;

private:
    Spinlock& l_;
};

}  // namespace natsume
