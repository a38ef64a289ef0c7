#include "kernel/kprint.h"

#include "kernel/console.h"

namespace natsume::guest::kprint {

void Line::put(char c) {
    if (len_ < sizeof(buf_) - 1) buf_[len_++] = c;
}

Line& Line::str(const char* s) {
    while (*s) put(*s++);
    return *this;
}

Line& Line::hex(uint64_t v) {
    str("0x");
    int shift = 60;
    while (shift > 0 && ((v >> shift) & 0xf) == 0) shift -= 4;
    for (; shift >= 0; shift -= 4) put("0123456789abcdef"[(v >> shift) & 0xf]);
    return *this;
}

Line& Line::dec(uint64_t v) {
    char tmp[20];
    int n = 0;
    do {
        tmp[n++] = static_cast<char>('0' + v % 10);
        v /= 10;
    } while (v != 0);
    while (n > 0) put(tmp[--n]);
    return *this;
}

void Line::emit() {
    put('\n');
    if (buf_[len_ - 1] != '\n')  // the buffer was full: force the newline
        buf_[len_ - 1] = '\n';
    console::write(buf_, len_);
}

}  // namespace natsume::guest::kprint
