// Where each partition's keys are written in a partition file, so a refusal
// of the boot-time validator (one sentence naming the partition, core,
// range or device) can be reported as FILE:LINE:COL.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/config/validate.hpp"

namespace natsume::probe {

struct Position {
    uint32_t line = 0, column = 0;  // 0: unknown
};

class SourcePositions {
public:
    // A file that does not parse has no positions (it was compiled already).
    explicit SourcePositions(std::string_view toml_text);
    // The key a validator report is about, as well as its text tells.
    [[nodiscard]] Position of(const config::Report& r) const;

private:
    struct Part {
        std::string name;
        Position name_pos, cores, ram, dma;
        std::vector<std::pair<std::string, Position>> devices;  // bdf text as written -> position
    };
    std::vector<Part> parts_;
    std::vector<Position> channels_;
};

}  // namespace natsume::probe
