#include "lib/cmdline.h"

namespace natsume::guest::cmdline {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n'; }

// Does the word starting at w have the name `key` (followed by '=' or its end)?
const char* match(const char* w, const char* key) {
    while (*key && *w == *key) {
        ++w;
        ++key;
    }
    if (*key) return nullptr;
    if (*w == '=') return w + 1;
    return (*w == '\0' || is_space(*w)) ? w : nullptr;
}

bool parse_u64(const char* s, uint64_t& v) {
    unsigned base = 10;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
    }
    if (*s == '\0' || is_space(*s)) return false;
    uint64_t r = 0;
    for (; *s && !is_space(*s); ++s) {
        unsigned d;
        if (*s >= '0' && *s <= '9')
            d = static_cast<unsigned>(*s - '0');
        else if (base == 16 && *s >= 'a' && *s <= 'f')
            d = static_cast<unsigned>(*s - 'a' + 10);
        else if (base == 16 && *s >= 'A' && *s <= 'F')
            d = static_cast<unsigned>(*s - 'A' + 10);
        else
            return false;
        r = r * base + d;
    }
    v = r;
    return true;
}

}  // namespace

bool get(const char* line, const char* key, char* out, size_t out_size) {
    const char* p = line;
    while (*p) {
        while (is_space(*p)) ++p;
        if (const char* v = match(p, key)) {
            size_t n = 0;
            while (v[n] && !is_space(v[n]) && n + 1 < out_size) {
                out[n] = v[n];
                ++n;
            }
            if (out_size > 0) out[n] = '\0';
            return true;
        }
        while (*p && !is_space(*p)) ++p;
    }
    return false;
}

uint64_t get_u64(const char* line, const char* key, uint64_t fallback) {
    char buf[24];
    uint64_t v;
    if (!get(line, key, buf, sizeof buf) || !parse_u64(buf, v)) return fallback;
    return v;
}

}  // namespace natsume::guest::cmdline
