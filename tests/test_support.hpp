// Helpers shared by the tests: where ../shared is, and reading its JSON files.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "slim/error.hpp"

namespace slim::test {

// The shared fixtures folder. A missing folder fails the test run loudly: it never skips.
inline std::filesystem::path shared_dir() {
  const char* env = std::getenv("SLIM_SHARED_DIR");
  std::filesystem::path dir = env && *env ? env : "../shared";
  if (!std::filesystem::is_directory(dir / "fixtures")) {
    throw std::runtime_error("SLIM_SHARED_DIR does not point at the shared fixtures folder: '" +
                             dir.string() + "' has no fixtures/ (set SLIM_SHARED_DIR)");
  }
  return dir;
}

inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline nlohmann::json read_json(const std::filesystem::path& path) {
  return nlohmann::json::parse(read_file(path));
}

// The code and message of the slim::Error that fn() throws; fails the test when it throws none.
template <typename Fn>
std::pair<slim::ErrorCode, std::string> error_of(Fn&& fn) {
  try {
    fn();
  } catch (const slim::Error& e) {
    return {e.code(), e.what()};
  }
  FAIL("no slim::Error thrown");
  return {};
}

}  // namespace slim::test

#include <random>

namespace slim::test {

// A fresh temporary folder, removed with everything in it at the end of the test.
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::random_device rd;
    path = std::filesystem::temp_directory_path() / ("slim-test-" + std::to_string(rd()) + std::to_string(rd()));
    std::filesystem::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
};

}  // namespace slim::test
