// A bounded text builder for messages in code that has no printf (the
// hypervisor). Writes into a caller-owned buffer, always NUL-terminated,
// silently truncates: a cut message is better than no message.
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace natsume {

class Text {
public:
    Text(char* buf, size_t cap);

    Text& str(const char* s);
    Text& ch(char c);
    Text& dec(uint64_t v);
    Text& hex(uint64_t v);  // "0x" prefix, lower case, no leading zeros
    // Exactly `digits` lower-case hex digits, zero-padded, no prefix (PCI
    // addresses and IDs: "00:02.0", "8086:100e"). Higher digits are dropped.
    Text& hex_fixed(uint64_t v, unsigned digits);

    [[nodiscard]] const char* c_str() const { return buf_; }
    [[nodiscard]] size_t size() const { return len_; }
    [[nodiscard]] bool truncated() const { return truncated_; }

private:
    char* buf_;
    size_t cap_;
    size_t len_     = 0;
    bool truncated_ = false;
};

// Length of a string stored in a fixed-size field, or `cap` if it has no NUL.
[[nodiscard]] size_t bounded_strlen(const char* s, size_t cap);
[[nodiscard]] bool str_equal(const char* a, const char* b);

}  // namespace natsume
