#include "text.hpp"

namespace natsume {

Text::Text(char* buf, size_t cap) : buf_(buf), cap_(cap) {
    if (cap_ > 0) buf_[0] = '\0';
}

Text& Text::ch(char c) {
    if (len_ + 1 >= cap_) {
        truncated_ = true;
        return *this;
    }
    buf_[len_++] = c;
    buf_[len_]   = '\0';
    return *this;
}

Text& Text::str(const char* s) {
    while (*s) ch(*s++);
    return *this;
}

Text& Text::dec(uint64_t v) {
    char digits[20];  // 2^64 - 1 has 20 decimal digits
    int n = 0;
    do {
        digits[n++] = static_cast<char>('0' + v % 10);
        v /= 10;
    } while (v != 0);
    while (n > 0) ch(digits[--n]);
    return *this;
}

Text& Text::hex(uint64_t v) {
    char digits[16];
    int n = 0;
    do {
        digits[n++] = "0123456789abcdef"[v & 0xf];
        v >>= 4;
    } while (v != 0);
    str("0x");
    while (n > 0) ch(digits[--n]);
    return *this;
}

Text& Text::hex_fixed(uint64_t v, unsigned digits) {
    for (unsigned k = digits; k > 0; --k) {
        unsigned shift = 4 * (k - 1);
        ch(shift < 64 ? "0123456789abcdef"[(v >> shift) & 0xf] : '0');
    }
    return *this;
}

size_t bounded_strlen(const char* s, size_t cap) {
    size_t n = 0;
    while (n < cap && s[n] != '\0') ++n;
    return n;
}

bool str_equal(const char* a, const char* b) {
    while (*a != '\0' && *a == *b) {
        ++a;
        ++b;
    }
    return *a == *b;
}

}  // namespace natsume
