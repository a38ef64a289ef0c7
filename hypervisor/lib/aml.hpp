// A writer of the little ACPI Machine Language a partition's DSDT needs
// (ACPI Specification 6.5, chapter 20, "ACPI Machine Language
// Specification"): scopes and devices, named integers, strings, EISA ids,
// packages and buffers, with package lengths filled in when a scope closes.
// Into a caller's buffer; anything that does not fit marks it overflowed.
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace natsume::aml {

// Section 20.2 opcodes used here.
inline constexpr uint8_t ZERO_OP = 0x00, ONE_OP = 0x01, NAME_OP = 0x08, BYTE_PREFIX = 0x0a, WORD_PREFIX = 0x0b,
                         DWORD_PREFIX = 0x0c, STRING_PREFIX = 0x0d, QWORD_PREFIX = 0x0e, SCOPE_OP = 0x10,
                         BUFFER_OP = 0x11, PACKAGE_OP = 0x12, METHOD_OP = 0x14, EXT_OP_PREFIX = 0x5b, DEVICE_OP = 0x82,
                         ROOT_CHAR = 0x5c;

// "PNP0A08" as the 32-bit compressed EISA id AML carries (section 19.6.35, EISAID).
uint32_t eisa_id(const char id[7]);

class Writer {
public:
    Writer(uint8_t* buf, size_t cap) : buf_(buf), cap_(cap) {}

    void byte(uint8_t b);
    void bytes(const void* p, size_t n);
    void name_seg(const char seg[4]);  // exactly four characters: "PCI0", "_PRT"
    void name_path(const char* path);  // "\\_SB_" or "_HID": a root prefix then 4-character segments
    void integer(uint64_t v);          // the shortest constant encoding
    void string(const char* s);
    void name(const char* path);  // NameOp and its name; the value follows

    // An object with a package length (Scope, Device, Package, Buffer):
    // begin writes the opcode(s) and reserves the length; end fills it in.
    size_t begin(uint8_t op, bool extended = false);
    void end(size_t mark);

    bool overflowed() const { return overflow_; }
    size_t size() const { return len_; }

private:
    uint8_t* buf_;
    size_t cap_, len_ = 0;
    bool overflow_ = false;
};

}  // namespace natsume::aml
