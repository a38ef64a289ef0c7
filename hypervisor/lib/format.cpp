#include "lib/format.hpp"

namespace natsume::fmt {
namespace {
struct Out {
    char* buf;
    size_t size;
    size_t len = 0;
    void put(char c) {
        if (len + 1 < size) buf[len] = c;
        len++;
    }
};

void put_unsigned(Out& o, uint64_t v, unsigned base, bool upper, int width, char pad, bool left) {
    char tmp[24];
    int n              = 0;
    const char* digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    do {
        tmp[n++] = digits[v % base];
        v /= base;
    } while (v);
    const int digits_len = n;
    if (!left)
        for (int i = n; i < width; i++) o.put(pad);
    while (n) o.put(tmp[--n]);
    if (left)
        for (int i = digits_len; i < width; i++) o.put(' ');
}

void put_string(Out& o, const char* s, int width, bool left) {
    if (!s) s = "(null)";
    int n = 0;
    while (s[n]) n++;
    if (!left)
        for (int i = n; i < width; i++) o.put(' ');
    for (int i = 0; i < n; i++) o.put(s[i]);
    if (left)
        for (int i = n; i < width; i++) o.put(' ');
}

uint64_t fetch_unsigned(va_list& ap, int longness) {
    if (longness >= 1) return va_arg(ap, unsigned long);
    return va_arg(ap, unsigned int);
}
int64_t fetch_signed(va_list& ap, int longness) {
    if (longness >= 1) return va_arg(ap, long);
    return va_arg(ap, int);
}

void conversion(Out& o, char c, int longness, int width, char pad, bool left, va_list& ap) {
    switch (c) {
    case 'd':
    case 'i': {
        int64_t v = fetch_signed(ap, longness);
        if (v < 0) {
            o.put('-');
            put_unsigned(o, static_cast<uint64_t>(-(v + 1)) + 1, 10, false, width - 1, pad, left);
        } else
            put_unsigned(o, static_cast<uint64_t>(v), 10, false, width, pad, left);
        break;
    }
    case 'u': put_unsigned(o, fetch_unsigned(ap, longness), 10, false, width, pad, left); break;
    case 'x': put_unsigned(o, fetch_unsigned(ap, longness), 16, false, width, pad, left); break;
    case 'X': put_unsigned(o, fetch_unsigned(ap, longness), 16, true, width, pad, left); break;
    case 'p':
        o.put('0');
        o.put('x');
        put_unsigned(o, reinterpret_cast<uintptr_t>(va_arg(ap, void*)), 16, false, 16, '0', false);
        break;
    case 's': put_string(o, va_arg(ap, const char*), width, left); break;
    case 'c': o.put(static_cast<char>(va_arg(ap, int))); break;
    case '%': o.put('%'); break;
    default:
        o.put('%');
        o.put(c);
        break;
    }
}
}  // namespace

size_t vformat(char* buf, size_t size, const char* fmt, va_list ap_in) {
    Out o{buf, size};
    va_list ap;
    va_copy(ap, ap_in);
    for (const char* p = fmt; *p; p++) {
        if (*p != '%') {
            o.put(*p);
            continue;
        }
        p++;
        bool left = false;
        char pad  = ' ';
        for (;; p++) {
            if (*p == '-')
                left = true;
            else if (*p == '0')
                pad = '0';
            else
                break;
        }
        int width = 0;
        while (*p >= '0' && *p <= '9') width = width * 10 + (*p++ - '0');
        int longness = 0;
        while (*p == 'l' || *p == 'z') {
            longness++;
            p++;
        }
        if (!*p) break;
        conversion(o, *p, longness, width, pad, left, ap);
    }
    va_end(ap);
    if (size) buf[o.len < size ? o.len : size - 1] = 0;
    return o.len < size ? o.len : size - 1;
}

size_t format(char* buf, size_t size, const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    size_t n = vformat(buf, size, fmt, ap);
    va_end(ap);
    return n;
}

}  // namespace natsume::fmt
