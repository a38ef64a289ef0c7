// Reading the multiboot2 boot information (multiboot2 spec 3.6). Pure code:
// it touches only the bytes it is given, so the host tests run it too.
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace natsume::guest::mb2 {

enum class Status : uint8_t { Ok, BadHeader, NoMemoryMap, ImageNotInRam };

struct Info {
    const char* cmdline = "";  // points into the boot information
    uint64_t ram_top    = 0;   // end of the available region holding the image
};

// `info` is the structure EBX pointed to; `image_addr` is an address inside
// the kernel image, used to pick the RAM region the kernel lives in.
[[nodiscard]] Status parse(const uint8_t* info, uint64_t image_addr, Info& out);

}  // namespace natsume::guest::mb2
