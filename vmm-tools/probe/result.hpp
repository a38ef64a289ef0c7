// A value or the one sentence that says why there is none: how the probe
// reports a missing file or an unreadable table without exceptions.
#pragma once
#include <optional>
#include <string>
#include <utility>

namespace natsume::probe {

template <typename T>
class [[nodiscard]] Result {
public:
    Result(T value) : value_(std::move(value)) {}
    static Result failure(std::string why) {
        Result r;
        r.error_ = std::move(why);
        return r;
    }

    [[nodiscard]] bool ok() const { return value_.has_value(); }
    explicit operator bool() const { return ok(); }
    T& operator*() { return *value_; }
    const T& operator*() const { return *value_; }
    T* operator->() { return &*value_; }
    const T* operator->() const { return &*value_; }
    [[nodiscard]] const std::string& error() const { return error_; }

private:
    Result() = default;
    std::optional<T> value_;
    std::string error_;
};

}  // namespace natsume::probe
