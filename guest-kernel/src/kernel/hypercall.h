// Guest side of the Natsume hypercall ABI (include/natsume/hypercall.h).
#pragma once
#include <stdint.h>

#include <natsume/hypercall.h>

namespace natsume::guest::hypercall {

// VMCALL: number in RAX, arguments in RDI, RSI, RDX, result in RAX.
inline int64_t call(uint64_t nr, uint64_t a0 = 0, uint64_t a1 = 0, uint64_t a2 = 0) {
    int64_t ret;
    asm volatile("vmcall" : "=a"(ret) : "a"(nr), "D"(a0), "S"(a1), "d"(a2) : "memory");
    return ret;
}

inline int64_t console_write(const void* buf, uint64_t len) {
    // Guest-virtual equals guest-physical: the kernel identity-maps its RAM.
    return call(NATSUME_HC_CONSOLE_WRITE, reinterpret_cast<uintptr_t>(buf), len);
}

// NATSUME_HC_CHANNEL_BIND / NATSUME_HC_DOORBELL: a channel's id is its
// natsume_boot_channel.id.
inline int64_t channel_bind(uint32_t id, uint8_t vector) { return call(NATSUME_HC_CHANNEL_BIND, id, vector); }
inline int64_t doorbell(uint32_t id) { return call(NATSUME_HC_DOORBELL, id); }

[[noreturn]] inline void stop_self(uint64_t code) {
    call(NATSUME_HC_STOP_SELF, code);
    for (;;) asm volatile("cli; hlt");  // STOP_SELF does not return; never run on
}

}  // namespace natsume::guest::hypercall
