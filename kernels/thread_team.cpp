#include "kernels/thread_team.hpp"

#include <algorithm>
#include <chrono>
#include <utility>

namespace slim::kernels {

namespace {

// A waiting thread first spins on the CPU for about kSpinTime / 40 (the next region of a forward
// pass usually comes within microseconds), then keeps looking while yielding its core to any
// other runnable thread, and sleeps once nothing came for kSpinTime. Decode steps follow each
// other within about a millisecond (sampling, the scheduler), so a busy owner's workers rarely
// sleep, an idle team gives its cores back soon, and on a machine with more runnable threads than
// cores the thread being waited for gets the core instead of a spinner (pure spinning was 3x
// slower than OpenMP there: a worker waited for a member that had no core).
constexpr auto kSpinTime = std::chrono::milliseconds(2);

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// Waits until `value` is no longer `old`; returns the new value.
template <class T>
T wait_for_change(const std::atomic<T>& value, T old) noexcept {
  const auto start = std::chrono::steady_clock::now();
  for (uint32_t spins = 1;; ++spins) {
    const T now = value.load(std::memory_order_acquire);
    if (now != old) return now;
    if (spins % 64 != 0) {
      cpu_relax();
      continue;
    }
    const auto waited = std::chrono::steady_clock::now() - start;
    if (waited > kSpinTime) break;
    if (waited > kSpinTime / 40) std::this_thread::yield();
  }
  for (;;) {
    value.wait(old, std::memory_order_acquire);
    const T now = value.load(std::memory_order_acquire);
    if (now != old) return now;
  }
}

}  // namespace

ThreadTeam::ThreadTeam(int threads) {
  const int workers = std::max(threads, 1) - 1;
  workers_.reserve(static_cast<size_t>(workers));
  for (int w = 0; w < workers; ++w) workers_.emplace_back([this, w] { work(w + 1); });
}

ThreadTeam::~ThreadTeam() {
  stopping_ = true;
  generation_.fetch_add(1, std::memory_order_release);
  generation_.notify_all();
  for (std::thread& w : workers_) w.join();
}

void ThreadTeam::run_erased(int threads, Call call, void* body) {
  const int n = std::clamp(threads, 1, size());
  if (n == 1) {
    call(body, 0, 1);
    return;
  }
  call_ = call;
  body_ = body;
  members_ = n;
  // Every worker answers every region, those outside it too: none can still be reading this
  // region's members when the next one is written.
  running_.store(size() - 1, std::memory_order_relaxed);
  generation_.fetch_add(1, std::memory_order_release);
  generation_.notify_all();  // no system call while every worker is still spinning
  try {
    call(body, 0, n);
  } catch (...) {
    keep_error(std::current_exception());
  }
  for (int left = running_.load(std::memory_order_acquire); left != 0;) left = wait_for_change(running_, left);
  if (error_) {
    std::exception_ptr error = std::exchange(error_, nullptr);
    std::rethrow_exception(error);
  }
}

void ThreadTeam::work(int member) {
  uint64_t seen = 0;
  for (;;) {
    seen = wait_for_change(generation_, seen);
    if (stopping_) return;
    if (member < members_) {  // else a smaller region than the team
      try {
        call_(body_, member, members_);
      } catch (...) {
        keep_error(std::current_exception());
      }
    }
    if (running_.fetch_sub(1, std::memory_order_acq_rel) == 1) running_.notify_one();
  }
}

void ThreadTeam::keep_error(std::exception_ptr error) {
  std::lock_guard lock(error_mutex_);
  if (!error_) error_ = std::move(error);
}

}  // namespace slim::kernels
