#include "vmm-tools/probe/source_positions.hpp"

#include <toml++/toml.h>

#include "vmm-tools/config/pci_names.hpp"

namespace natsume::probe {

namespace {

Position pos(const toml::node* n) {
    if (!n || n->source().begin.line == 0) return {};
    return {n->source().begin.line, n->source().begin.column};
}

// The canonical "bb:dd.f" of a bdf string, or the text itself.
std::string canonical_bdf(const std::string& text) {
    auto v = tools::parse_bdf(text);
    return std::holds_alternative<uint16_t>(v) ? tools::format_bdf(std::get<uint16_t>(v)) : text;
}

}  // namespace

SourcePositions::SourcePositions(std::string_view toml_text) {
    toml::table root;
    try {
        root = toml::parse(toml_text);
    } catch (const toml::parse_error&) { return; }
    if (const toml::array* parts = root.get_as<toml::array>("partition"))
        for (const toml::node& n : *parts) {
            const toml::table* t = n.as_table();
            if (!t) continue;
            Part p;
            p.name     = t->get("name") ? t->get("name")->value_or(std::string()) : "";
            p.name_pos = pos(t->get("name"));
            p.cores    = pos(t->get("cores"));
            p.ram      = pos(t->get("ram"));
            p.dma      = pos(t->get("dma"));
            if (const toml::array* devs = t->get_as<toml::array>("device"))
                for (const toml::node& d : *devs)
                    if (const toml::table* dt = d.as_table(); dt && dt->get("bdf"))
                        p.devices.push_back(
                            {canonical_bdf(dt->get("bdf")->value_or(std::string())), pos(dt->get("bdf"))});
            parts_.push_back(std::move(p));
        }
    if (const toml::array* chans = root.get_as<toml::array>("channel"))
        for (const toml::node& n : *chans)
            channels_.push_back(n.as_table() ? pos(n.as_table()->get("base")) : Position{});
}

Position SourcePositions::of(const config::Report& r) const {
    std::string_view text = r.text;
    if (r.channel != config::NO_CHANNEL) return r.channel < channels_.size() ? channels_[r.channel] : Position{};
    for (const Part& p : parts_) {
        if (p.name.empty() || text.find("'" + p.name + "'") == std::string_view::npos) continue;
        for (const auto& [bdf, at] : p.devices)
            if (text.find("device " + bdf) != std::string_view::npos) return at;
        if (text.find("dma window") != std::string_view::npos && p.dma.line) return p.dma;
        if (text.find(": ram ") != std::string_view::npos) return p.ram;
        if (text.find(": core ") != std::string_view::npos) return p.cores;
        return p.name_pos;
    }
    return {};
}

}  // namespace natsume::probe
