// Running the example programs from tests: where they are built, and a shell command's exit status
// and stdout.
#pragma once

#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <stdexcept>
#include <string>

#include <catch2/catch.hpp>

namespace slim::test {

// A program of examples/, in the build tree's examples/ folder beside this test's tests/ folder.
inline std::filesystem::path program(const std::string& name) {
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe");
  const std::filesystem::path path = self.parent_path().parent_path() / "examples" / name;
  if (!std::filesystem::exists(path)) throw std::runtime_error(name + " not built at " + path.string());
  return path;
}

struct Run {
  int status;
  std::string out;
};

// Runs a shell command line, returning its exit status and stdout.
inline Run run(const std::string& command) {
  FILE* pipe = popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string out;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) out.append(buffer, n);
  const int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

// Single-quoted for the shell. (Built by appends: GCC 12 warns falsely on "'" + s + "'".)
inline std::string quoted(const std::filesystem::path& p) {
  std::string out(1, '\'');
  out += p.string();
  out += '\'';
  return out;
}

}  // namespace slim::test
