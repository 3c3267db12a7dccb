#include "limits_check.hpp"

#include <unistd.h>

#include <fstream>
#include <limits>
#include <sstream>
#include <system_error>

#include "slim/error.hpp"

namespace slim {

void throw_limit_exceeded(const std::string& what, uint64_t value, const char* field, uint64_t max) {
  throw Error(ErrorCode::limit_exceeded, what + " (" + std::to_string(value) + ") exceeds Limits::" + field + " (" +
                                             std::to_string(max) +
                                             "); raise it through LoadOptions::limits or the limits argument");
}

std::string read_file_limited(const std::filesystem::path& path, uint64_t max_bytes, const char* field) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (!ec) check_limit(path.string() + ": file size", size, field, max_bytes);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorCode::io, path.string() + ": cannot open");
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw Error(ErrorCode::io, path.string() + ": read failed");
  std::string text = ss.str();
  check_limit(path.string() + ": file size", text.size(), field, max_bytes);  // e.g. a pipe
  return text;
}

uint64_t available_memory_bytes() {
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  uint64_t kib = 0;
  std::string unit;
  while (meminfo >> key >> kib >> unit) {
    if (key == "MemAvailable:") return kib * 1024;
  }
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page_size = sysconf(_SC_PAGE_SIZE);
  if (pages > 0 && page_size > 0) return static_cast<uint64_t>(pages) * static_cast<uint64_t>(page_size);
  return std::numeric_limits<uint64_t>::max();
}

}  // namespace slim
