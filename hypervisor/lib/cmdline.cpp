#include "lib/cmdline.hpp"

namespace natsume::cmdline {
namespace {
// Start of the word that equals `word` (up to a blank or the end), or null.
const char* find_word(const char* cmdline, const char* word, char terminator) {
    for (const char* p = cmdline; *p; p++) {
        if (p != cmdline && p[-1] != ' ') continue;
        const char* q = p;
        const char* w = word;
        while (*w && *q == *w) {
            q++;
            w++;
        }
        if (*w == 0 && (*q == terminator || (terminator == ' ' && *q == 0))) return q;
    }
    return nullptr;
}
}  // namespace

bool has_word(const char* cmdline, const char* word) { return find_word(cmdline, word, ' ') != nullptr; }

uint64_t number(const char* cmdline, const char* key, uint64_t fallback) {
    const char* q = find_word(cmdline, key, '=');
    if (!q || q[1] < '0' || q[1] > '9') return fallback;
    uint64_t v = 0;
    for (q++; *q >= '0' && *q <= '9'; q++) v = v * 10 + static_cast<uint64_t>(*q - '0');
    return v;
}
}  // namespace natsume::cmdline
