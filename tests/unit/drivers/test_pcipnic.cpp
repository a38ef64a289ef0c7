// The pcipnic command protocol against a model of the device's register
// semantics (pnic API 1.1 as Bochs implements it): the length register
// resets the data cursor, a command runs only when exactly `length` bytes
// were written, the reply's length replaces the register, and reading data
// past it is a device error.
#include <catch2/catch.hpp>
#include <cstring>
#include <string>
#include <vector>

#include "drivers/net/pcipnic.hpp"

namespace pcipnic = natsume::drivers::pcipnic;
using pcipnic::Command;
using pcipnic::Reg;

namespace {

struct FakePnic {
    uint16_t status                 = 0;
    uint16_t length                 = 0;
    uint16_t cursor                 = 0;
    uint8_t data[pcipnic::MAX_DATA] = {};
    bool irq                        = false;
    bool irq_enabled                = false;
    uint16_t queue                  = 0;
    std::vector<std::string> errors;
    std::vector<std::string> trace;

    void out16(Reg r, uint16_t v) {
        if (r == Reg::Len) {
            trace.push_back("len=" + std::to_string(v));
            if (v > pcipnic::MAX_DATA) errors.push_back("length too large");
            length = v;
            cursor = 0;
        } else if (r == Reg::Cmd) {
            trace.push_back("cmd=" + std::to_string(v));
            execute(static_cast<Command>(v));
        } else {
            errors.push_back("16-bit write to the data port");
        }
    }
    void out8(Reg r, uint8_t v) {
        if (r != Reg::Data) {
            errors.push_back("8-bit write outside the data port");
            return;
        }
        if (cursor >= length) {
            errors.push_back("data write past length");
            return;
        }
        data[cursor++] = v;
    }
    uint16_t in16(Reg r) {
        if (r == Reg::Stat) return status;
        if (r == Reg::Len) return length;
        errors.push_back("16-bit read of the data port");
        return 0;
    }
    uint8_t in8(Reg r) {
        if (r != Reg::Data || cursor >= length) {
            errors.push_back("data read past length");
            return 0;
        }
        return data[cursor++];
    }
    void reply(uint16_t st, const void* out, uint16_t n) {
        status = st;
        if (n) std::memcpy(data, out, n);
        length = n;
        cursor = 0;
    }
    void execute(Command c) {
        if (length != cursor) {
            errors.push_back("command with incomplete data");
            return;
        }
        const uint8_t mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x53};
        const uint8_t ver[2] = {0x01, 0x01};
        switch (c) {
        case Command::ApiVersion: reply(pcipnic::STATUS_OK, ver, 2); break;
        case Command::ReadMac: reply(pcipnic::STATUS_OK, mac, 6); break;
        case Command::MaskIrq:
            irq_enabled = data[0] != 0;
            irq         = irq_enabled && queue > 0;
            reply(pcipnic::STATUS_OK, nullptr, 0);
            break;
        case Command::ForceIrq:
            irq = true;
            reply(pcipnic::STATUS_OK, nullptr, 0);
            break;
        case Command::Noop:
        case Command::Reset: reply(pcipnic::STATUS_OK, nullptr, 0); break;
        default: reply(pcipnic::STATUS_UNKNOWN_COMMAND, nullptr, 0); break;
        }
    }
};

}  // namespace

TEST_CASE("pcipnic: a command with a reply reads back exactly the reply's bytes") {
    FakePnic dev;
    uint8_t ver[2]   = {};
    pcipnic::Reply r = pcipnic::run_command(dev, Command::ApiVersion, nullptr, 0, ver, sizeof ver);
    CHECK(r.ok());
    CHECK(r.length == 2);
    CHECK((ver[0] | ver[1] << 8) == pcipnic::API_VERSION);
    CHECK(dev.errors.empty());
}

TEST_CASE("pcipnic: the length register is written before every command, also without data") {
    FakePnic dev;
    uint8_t mac[6] = {};
    REQUIRE(pcipnic::run_command(dev, Command::ReadMac, nullptr, 0, mac, sizeof mac).ok());
    // The previous reply left length 6 in the register: a command without data
    // must reset it, or the device sees incomplete data.
    dev.trace.clear();
    CHECK(pcipnic::run_command(dev, Command::ForceIrq, nullptr, 0, nullptr, 0).ok());
    CHECK(dev.trace == std::vector<std::string>{"len=0", "cmd=8"});
    CHECK(dev.irq);
    CHECK(dev.errors.empty());
}

TEST_CASE("pcipnic: a short output buffer never reads past it, and past the reply never") {
    FakePnic dev;
    uint8_t two[2]   = {};
    pcipnic::Reply r = pcipnic::run_command(dev, Command::ReadMac, nullptr, 0, two, sizeof two);
    CHECK(r.ok());
    CHECK(r.length == 6);  // what the device had, though only two bytes were copied
    CHECK(two[0] == 0x52);
    CHECK(two[1] == 0x54);
    uint8_t big[16] = {};
    r               = pcipnic::run_command(dev, Command::ApiVersion, nullptr, 0, big, sizeof big);
    CHECK(r.length == 2);
    CHECK(big[2] == 0);
    CHECK(dev.errors.empty());
}

TEST_CASE("pcipnic: MASK_IRQ(1) with an empty receive queue lowers a forced line") {
    FakePnic dev;
    REQUIRE(pcipnic::run_command(dev, Command::ForceIrq, nullptr, 0, nullptr, 0).ok());
    REQUIRE(dev.irq);
    const uint8_t enable = 1;
    CHECK(pcipnic::run_command(dev, Command::MaskIrq, &enable, 1, nullptr, 0).ok());
    CHECK_FALSE(dev.irq);
    CHECK(dev.irq_enabled);
    CHECK(dev.trace == std::vector<std::string>{"len=0", "cmd=8", "len=1", "cmd=7"});
    CHECK(dev.errors.empty());
}

TEST_CASE("pcipnic: an unknown command reports its status, an oversized input is not sent") {
    FakePnic dev;
    pcipnic::Reply r = pcipnic::run_command(dev, static_cast<Command>(0x77), nullptr, 0, nullptr, 0);
    CHECK_FALSE(r.ok());
    CHECK(r.status == pcipnic::STATUS_UNKNOWN_COMMAND);
    static uint8_t huge[pcipnic::MAX_DATA + 1] = {};
    dev.trace.clear();
    r = pcipnic::run_command(dev, Command::Xmit, huge, sizeof huge, nullptr, 0);
    CHECK_FALSE(r.ok());
    CHECK(dev.trace.empty());
    CHECK(dev.errors.empty());
}
