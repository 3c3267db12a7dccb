// String helpers for the template engine: UTF-8 code points (Python indexes strings by code
// point) and whitespace trimming with the set of characters JavaScript's String.trim() removes,
// which is what @huggingface/jinja (the reference renderer of our fixtures) uses.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace slim::chat {

// Splits UTF-8 text into one string per code point. Bytes that are not valid UTF-8 become
// one-byte pieces of their own, so nothing is lost and nothing reads out of bounds.
std::vector<std::string> split_code_points(std::string_view s);

std::size_t code_point_count(std::string_view s);

// Length in bytes of the whitespace character starting at s[i], or 0 if there is none.
std::size_t whitespace_at(std::string_view s, std::size_t i);
// Length in bytes of the whitespace character ending at s[end-1], or 0.
std::size_t whitespace_before(std::string_view s, std::size_t end);

std::string_view trim_left(std::string_view s);
std::string_view trim_right(std::string_view s);
std::string_view trim(std::string_view s);

// ASCII case mapping (non-ASCII letters are left unchanged).
std::string to_upper(std::string_view s);
std::string to_lower(std::string_view s);
std::string to_title(std::string_view s);       // Python str.title() on ASCII letters
std::string to_capitalized(std::string_view s);  // first letter upper, the rest lower

// Replaces the first `count` occurrences of `from` (all if count < 0); an empty `from` inserts
// `to` between code points as Python does.
std::string replace_all(std::string_view s, std::string_view from, std::string_view to,
                        long long count = -1);

}  // namespace slim::chat
