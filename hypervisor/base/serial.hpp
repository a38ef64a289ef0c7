// COM1 16550 console of the hypervisor.
#pragma once
#include <stdint.h>

namespace natsume::serial {
void init();
void put(char c);
void drain();  // waits for LSR.TEMT so nothing is lost at shutdown
}  // namespace natsume::serial
