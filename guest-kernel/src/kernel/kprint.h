// Minimal formatting that needs neither newlib nor a heap: used before newlib
// is usable and on the fatal-exception path, where printf could re-enter.
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace natsume::guest::kprint {

// Appends into a fixed buffer; output past the end is dropped, never overflowed.
class Line {
public:
    Line& str(const char* s);
    Line& hex(uint64_t v);  // 0x-prefixed, no leading zeros
    Line& dec(uint64_t v);
    void emit();  // writes the line and a newline to the console
    const char* data() const { return buf_; }
    size_t size() const { return len_; }

private:
    void put(char c);
    char buf_[256] = {};
    size_t len_    = 0;
};

}  // namespace natsume::guest::kprint
