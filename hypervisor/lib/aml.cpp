#include "aml.hpp"

namespace natsume::aml {
namespace {

constexpr size_t PKG_LENGTH_MAX = 4;  // section 20.2.4: a lead byte and up to three more

// Bytes a PkgLength needs when the package (the length itself included) is `total` bytes.
size_t pkg_length_bytes(size_t content) {
    if (content + 1 < 0x40) return 1;
    if (content + 2 < 0x1000) return 2;
    if (content + 3 < 0x100000) return 3;
    return 4;
}

uint8_t hex(char c) { return static_cast<uint8_t>(c >= 'A' ? c - 'A' + 10 : c - '0'); }

}  // namespace

uint32_t eisa_id(const char id[7]) {
    // Three letters in five bits each ('A' = 1), then four hex digits; stored big-endian.
    const uint32_t v = (uint32_t(id[0] - '@') << 26) | (uint32_t(id[1] - '@') << 21) | (uint32_t(id[2] - '@') << 16) |
                       (uint32_t(hex(id[3])) << 12) | (uint32_t(hex(id[4])) << 8) | (uint32_t(hex(id[5])) << 4) |
                       uint32_t(hex(id[6]));
    return __builtin_bswap32(v);
}

void Writer::byte(uint8_t b) {
    if (len_ >= cap_) {
        overflow_ = true;
        return;
    }
    buf_[len_++] = b;
}

void Writer::bytes(const void* p, size_t n) {
    for (size_t i = 0; i < n; ++i) byte(static_cast<const uint8_t*>(p)[i]);
}

void Writer::name_seg(const char seg[4]) { bytes(seg, 4); }

void Writer::name_path(const char* path) {
    if (*path == '\\') {
        byte(ROOT_CHAR);
        ++path;
    }
    // Section 20.2.2: one segment as is, two with DualNamePrefix (0x2e).
    size_t n = 0;
    while (path[n]) ++n;
    if (n == 8) byte(0x2e);
    bytes(path, n);
}

void Writer::integer(uint64_t v) {
    if (v == 0) return byte(ZERO_OP);
    if (v == 1) return byte(ONE_OP);
    uint8_t prefix = v <= 0xff         ? BYTE_PREFIX
                     : v <= 0xffff     ? WORD_PREFIX
                     : v <= 0xffffffff ? DWORD_PREFIX
                                       : QWORD_PREFIX;
    size_t n       = prefix == BYTE_PREFIX ? 1 : prefix == WORD_PREFIX ? 2 : prefix == DWORD_PREFIX ? 4 : 8;
    byte(prefix);
    for (size_t i = 0; i < n; ++i) byte(static_cast<uint8_t>(v >> (8 * i)));
}

void Writer::string(const char* s) {
    byte(STRING_PREFIX);
    while (*s) byte(static_cast<uint8_t>(*s++));
    byte(0);
}

void Writer::name(const char* path) {
    byte(NAME_OP);
    name_path(path);
}

size_t Writer::begin(uint8_t op, bool extended) {
    if (extended) byte(EXT_OP_PREFIX);
    byte(op);
    const size_t mark = len_;
    for (size_t i = 0; i < PKG_LENGTH_MAX; ++i) byte(0);
    return mark;
}

// Writes the shortest PkgLength for what follows the reserved bytes and moves the content down to it.
void Writer::end(size_t mark) {
    if (overflow_) return;
    const size_t content = len_ - mark - PKG_LENGTH_MAX;
    const size_t n       = pkg_length_bytes(content);
    const size_t total   = content + n;
    __builtin_memmove(buf_ + mark + n, buf_ + mark + PKG_LENGTH_MAX, content);
    len_ = mark + total;
    if (n == 1) {
        buf_[mark] = static_cast<uint8_t>(total);
        return;
    }
    buf_[mark] = static_cast<uint8_t>(((n - 1) << 6) | (total & 0xf));
    for (size_t i = 1; i < n; ++i) buf_[mark + i] = static_cast<uint8_t>(total >> (4 + 8 * (i - 1)));
}

}  // namespace natsume::aml
