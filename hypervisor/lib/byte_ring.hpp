// A byte ring for console output: producers on any core append whole
// records or nothing (a full ring drops the record and counts it), one
// consumer takes bytes in order. Not synchronized: the caller holds a lock
// around push and pop (host-tested as plain code).
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace natsume {

class ByteRing {
public:
    constexpr ByteRing(char* storage, size_t capacity) : buf_(storage), cap_(capacity) {}

    // Appends all n bytes, or none when they do not fit (dropped_ grows by n).
    bool push(const char* s, size_t n) {
        if (n > cap_ - used()) {
            dropped_ += n;
            return false;
        }
        for (size_t i = 0; i < n; i++) buf_[(head_ + i) % cap_] = s[i];
        head_ += n;
        return true;
    }
    // Moves up to max bytes into out; returns how many.
    size_t pop(char* out, size_t max) {
        size_t n = used() < max ? used() : max;
        for (size_t i = 0; i < n; i++) out[i] = buf_[(tail_ + i) % cap_];
        tail_ += n;
        return n;
    }
    size_t used() const { return static_cast<size_t>(head_ - tail_); }
    bool empty() const { return head_ == tail_; }
    // Bytes dropped since the last call.
    uint64_t take_dropped() {
        uint64_t d = dropped_;
        dropped_   = 0;
        return d;
    }

private:
    char* buf_;
    size_t cap_;
    uint64_t head_ = 0, tail_ = 0;  // total bytes in and out; never wrap in practice
    uint64_t dropped_ = 0;
};

}  // namespace natsume
