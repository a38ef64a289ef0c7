#include <array>
#include <catch2/catch.hpp>
#include <cstdint>
#include <cstring>
#include <vector>

#include "boot/multiboot2.h"

namespace mb2 = natsume::guest::mb2;

namespace {

// Builds a multiboot2 information structure the way a loader lays it out.
class InfoBuilder {
public:
    InfoBuilder() { put32(0), put32(0); }
    InfoBuilder& cmdline(const char* s) {
        uint32_t size = 8 + static_cast<uint32_t>(std::strlen(s)) + 1;
        put32(1), put32(size);
        for (const char* p = s; *p; ++p) bytes_.push_back(static_cast<uint8_t>(*p));
        bytes_.push_back(0);
        align();
        return *this;
    }
    InfoBuilder& mmap(const std::vector<std::array<uint64_t, 3>>& entries) {
        put32(6), put32(16 + 24 * static_cast<uint32_t>(entries.size())), put32(24), put32(0);
        for (auto& e : entries) put64(e[0]), put64(e[1]), put32(static_cast<uint32_t>(e[2])), put32(0);
        align();
        return *this;
    }
    std::vector<uint8_t> finish() {
        put32(0), put32(8);
        uint32_t total = static_cast<uint32_t>(bytes_.size());
        std::memcpy(bytes_.data(), &total, 4);
        return bytes_;
    }

private:
    void put32(uint32_t v) {
        bytes_.insert(bytes_.end(), reinterpret_cast<uint8_t*>(&v), reinterpret_cast<uint8_t*>(&v) + 4);
    }
    void put64(uint64_t v) {
        bytes_.insert(bytes_.end(), reinterpret_cast<uint8_t*>(&v), reinterpret_cast<uint8_t*>(&v) + 8);
    }
    void align() {
        while (bytes_.size() % 8) bytes_.push_back(0);
    }
    std::vector<uint8_t> bytes_;
};

constexpr uint64_t IMAGE = 0x200000;

}  // namespace

TEST_CASE("multiboot2: command line and the RAM region holding the image", "[guest][multiboot2]") {
    auto info = InfoBuilder()
                    .cmdline("test=newlib exit=1")
                    .mmap({{0, 0x9fc00, 1}, {0xf0000, 0x10000, 2}, {0x100000, 0xfef0000, 1}, {0xfff0000, 0x10000, 3}})
                    .finish();
    mb2::Info out;
    REQUIRE(mb2::parse(info.data(), IMAGE, out) == mb2::Status::Ok);
    CHECK(std::strcmp(out.cmdline, "test=newlib exit=1") == 0);
    CHECK(out.ram_top == 0xfff0000);
}

TEST_CASE("multiboot2: image outside available RAM is reported", "[guest][multiboot2]") {
    auto info = InfoBuilder().mmap({{0, 0x9fc00, 1}, {0x100000, 0x100000, 1}, {0x200000, 0x100000, 2}}).finish();
    mb2::Info out;
    CHECK(mb2::parse(info.data(), IMAGE, out) == mb2::Status::ImageNotInRam);
}

TEST_CASE("multiboot2: missing memory map and corrupt sizes", "[guest][multiboot2]") {
    auto no_map = InfoBuilder().cmdline("x").finish();
    mb2::Info out;
    CHECK(mb2::parse(no_map.data(), IMAGE, out) == mb2::Status::NoMemoryMap);
    CHECK(std::strcmp(out.cmdline, "x") == 0);

    auto bad      = InfoBuilder().cmdline("abc").finish();
    uint32_t huge = 0x1000;  // tag size beyond the total size
    std::memcpy(bad.data() + 12, &huge, 4);
    CHECK(mb2::parse(bad.data(), IMAGE, out) == mb2::Status::BadHeader);

    std::vector<uint8_t> tiny(16, 0);
    CHECK(mb2::parse(tiny.data(), IMAGE, out) == mb2::Status::BadHeader);
}
