// A one-line progress bar on stderr for the example programs. Silent when stderr is not a
// terminal (piped or redirected), so logs stay clean.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <string>

namespace slim::cli {

class ProgressBar {
 public:
  explicit ProgressBar(std::string label) : label_(std::move(label)), enabled_(isatty(fileno(stderr)) != 0) {}
  ~ProgressBar() { done(); }
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  // fraction in [0, 1]; redraws only when the shown percentage changes.
  void update(float fraction) {
    if (!enabled_) return;
    const int percent = static_cast<int>(std::clamp(fraction, 0.0f, 1.0f) * 100.0f);
    if (percent == shown_) return;
    shown_ = percent;
    constexpr int kWidth = 40;
    const int filled = percent * kWidth / 100;
    std::fprintf(stderr, "\r%-12s [%s%s] %3d%%", label_.c_str(), std::string(static_cast<size_t>(filled), '#').c_str(),
                 std::string(static_cast<size_t>(kWidth - filled), '.').c_str(), percent);
    std::fflush(stderr);
  }
  // Ends the line (once).
  void done() {
    if (enabled_ && shown_ >= 0) std::fputc('\n', stderr);
    shown_ = -1;
    enabled_ = false;
  }

 private:
  std::string label_;
  bool enabled_;
  int shown_ = -1;
};

}  // namespace slim::cli
