// Enforcing slim::Limits: the one error message every limit gives, reading a file under a size
// limit, and the memory a new allocation may take.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "slim/limits.hpp"

namespace slim {

// Throws slim::Error(limit_exceeded): "<what> (<value>) exceeds Limits::<field> (<max>); raise it
// through LoadOptions::limits or the limits argument".
[[noreturn]] void throw_limit_exceeded(const std::string& what, uint64_t value, const char* field, uint64_t max);

inline void check_limit(const std::string& what, uint64_t value, const char* field, uint64_t max) {
  if (value > max) throw_limit_exceeded(what, value, field, max);
}

// The whole file, refused with limit_exceeded before reading when it is larger than max_bytes.
// Throws slim::Error(io) when it cannot be opened or read.
std::string read_file_limited(const std::filesystem::path& path, uint64_t max_bytes, const char* field);

// Bytes the system could give a new allocation now: MemAvailable from /proc/meminfo, else the
// physical memory (sysconf), else UINT64_MAX when neither is known.
uint64_t available_memory_bytes();

}  // namespace slim
