#include <catch2/catch.hpp>
#include <cstring>

#include "drivers/net/e1000.hpp"

using namespace natsume::drivers::e1000;

TEST_CASE("descriptor layouts match the 8254x manual", "[drivers][e1000]") {
    RxDesc rx{};
    auto* rb  = reinterpret_cast<uint8_t*>(&rx);
    rx.addr   = 0x1122334455667788ull;
    rx.length = 0x05dc;
    rx.status = RX_STATUS_DD | RX_STATUS_EOP;
    CHECK(rb[0] == 0x88);
    CHECK(rb[7] == 0x11);
    CHECK(rb[8] == 0xdc);
    CHECK(rb[9] == 0x05);
    CHECK(rb[12] == 0x03);

    TxDesc tx{};
    auto* tb  = reinterpret_cast<uint8_t*>(&tx);
    tx.length = 60;
    tx.cmd    = TX_CMD_EOP | TX_CMD_IFCS | TX_CMD_RS;
    tx.status = TX_STATUS_DD;
    CHECK(tb[8] == 60);
    CHECK(tb[11] == 0x0b);
    CHECK(tb[12] == 0x01);
}

TEST_CASE("register offsets and bits", "[drivers][e1000]") {
    CHECK(static_cast<uint32_t>(Reg::Icr) == 0xc0);
    CHECK(static_cast<uint32_t>(Reg::Ics) == 0xc8);
    CHECK(static_cast<uint32_t>(Reg::Rdt) == 0x2818);
    CHECK(static_cast<uint32_t>(Reg::Tdt) == 0x3818);
    CHECK(static_cast<uint32_t>(Reg::Ral0) == 0x5400);
    CHECK(INT_TXDW == 0x01);
    CHECK(INT_LSC == 0x04);
    CHECK(INT_RXT0 == 0x80);
    CHECK(CTRL_RST == 0x04000000u);
}

TEST_CASE("rings and receive address", "[drivers][e1000]") {
    CHECK(valid_ring_bytes(32 * sizeof(RxDesc)));
    CHECK(valid_ring_bytes(8 * sizeof(TxDesc)));
    CHECK_FALSE(valid_ring_bytes(4 * sizeof(TxDesc)));  // 64 bytes: not a multiple of 128
    CHECK_FALSE(valid_ring_bytes(0));
    CHECK(ring_next(0, 8) == 1);
    CHECK(ring_next(7, 8) == 0);
    const uint8_t mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
    CHECK(ral_from_mac(mac) == 0x12005452u);
    CHECK(rah_from_mac(mac) == (0x5634u | RAH_AV));
}
