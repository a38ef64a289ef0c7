#include "loader_config.hpp"

#include "lib/format.hpp"

namespace natsume::efi {
namespace {

bool is_blank(char c) { return c == ' ' || c == '\t'; }

struct Line {
    const char* p;
    size_t len;
    unsigned number;
};

// Drops leading and trailing blanks (and the CR of a CRLF line).
Line trim(Line l) {
    while (l.len > 0 && is_blank(*l.p)) ++l.p, --l.len;
    while (l.len > 0 && (is_blank(l.p[l.len - 1]) || l.p[l.len - 1] == '\r')) --l.len;
    return l;
}

// Splits the first word off l; l keeps the trimmed rest.
Line take_word(Line& l) {
    size_t n = 0;
    while (n < l.len && !is_blank(l.p[n])) ++n;
    Line word{l.p, n, l.number};
    l = trim(Line{l.p + n, l.len - n, l.number});
    return word;
}

bool equals(const Line& w, const char* s) {
    size_t i = 0;
    for (; i < w.len; ++i)
        if (s[i] != w.p[i]) return false;
    return s[i] == '\0';
}

// A word of the file as a C string for a message, cut to fit.
struct Shown {
    char text[48];
    explicit Shown(const Line& w) {
        size_t n = w.len < sizeof text - 1 ? w.len : sizeof text - 1;
        for (size_t i = 0; i < n; ++i) text[i] = w.p[i];
        text[n] = '\0';
    }
};

bool fail(ConfigError& err, unsigned line, const char* fmt, const char* arg = "") {
    err.line = line;
    (void)fmt::format(err.text, sizeof err.text, fmt, arg);
    return false;
}

bool copy_text(const Line& w, char* out, size_t cap, ConfigError& err, const char* what) {
    if (w.len + 1 > cap) return fail(err, w.number, "the %s is too long", what);
    for (size_t i = 0; i < w.len; ++i) out[i] = w.p[i];
    out[w.len] = '\0';
    return true;
}

// An absolute path on the loader's volume, stored with '\' separators.
bool copy_path(const Line& w, char* out, ConfigError& err) {
    if (w.len == 0) return fail(err, w.number, "a path is missing");
    if (w.p[0] != '/' && w.p[0] != '\\')
        return fail(err, w.number, "the path '%s' is not absolute: start it with '/' (the loader's own volume)",
                    Shown(w).text);
    if (!copy_text(w, out, MAX_PATH, err, "path")) return false;
    for (char* c = out; *c; ++c)
        if (*c == '/') *c = '\\';
    return true;
}

bool parse_module(Line rest, LoaderConfig& out, ConfigError& err) {
    if (out.module_count == mb2::MAX_MODULES) return fail(err, rest.number, "more than 32 modules");
    ModuleEntry& m = out.modules[out.module_count];
    Line path      = take_word(rest);
    if (!copy_path(path, m.path, err)) return false;
    if (rest.len == 0)
        return fail(err, rest.number,
                    "the module has no name: write 'module PATH NAME' (the hypervisor finds "
                    "modules by NAME: natsume-config, or an image name)");
    if (!copy_text(rest, m.cmdline, MAX_CMDLINE, err, "module command line")) return false;
    m.line = rest.number;
    ++out.module_count;
    return true;
}

bool parse_line(Line l, LoaderConfig& out, ConfigError& err) {
    Line key = take_word(l);
    if (equals(key, "hypervisor")) {
        if (out.hypervisor[0] != '\0') return fail(err, l.number, "a second 'hypervisor' line");
        if (!copy_path(take_word(l), out.hypervisor, err)) return false;
        return l.len == 0 || fail(err, l.number, "words after the hypervisor's path: put them on a 'cmdline' line");
    }
    if (equals(key, "cmdline")) {
        if (out.cmdline[0] != '\0') return fail(err, l.number, "a second 'cmdline' line");
        return copy_text(l, out.cmdline, MAX_CMDLINE, err, "command line");
    }
    if (equals(key, "module")) return parse_module(l, out, err);
    return fail(err, l.number, "unknown directive '%s' (known: hypervisor, cmdline, module)", Shown(key).text);
}

}  // namespace

bool parse_loader_config(const char* text, size_t len, LoaderConfig& out, ConfigError& err) {
    __builtin_memset(&out, 0, sizeof out);
    __builtin_memset(&err, 0, sizeof err);
    if (len > MAX_FILE) return fail(err, 0, "the file is larger than 64 KiB");
    unsigned number = 1;
    for (size_t at = 0; at < len; ++number) {
        size_t end = at;
        while (end < len && text[end] != '\n') {
            if (text[end] == '\0') return fail(err, number, "a NUL byte in the file (is it a text file?)");
            ++end;
        }
        Line l = trim(Line{text + at, end - at, number});
        at     = end + 1;
        if (l.len == 0 || l.p[0] == '#') continue;
        if (!parse_line(l, out, err)) return false;
    }
    if (out.hypervisor[0] == '\0') return fail(err, 0, "no 'hypervisor PATH' line");
    return true;
}

}  // namespace natsume::efi
