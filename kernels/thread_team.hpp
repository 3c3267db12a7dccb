// A team of threads that runs the parallel parts of one owner's work (a Session, an Engine, a
// model load): the owner's thread is member 0 and size() - 1 workers wait for the next region.
//
// Why not OpenMP: libgomp makes every team sleep on a futex at the end of each region as soon as
// the process holds more OpenMP threads than cores, and an idle team left by another thread (a
// model loaded on the main thread) is enough. A decode step has a few hundred regions, so an
// Engine beside such a team decoded at a quarter of a Session's speed. A team of our own spins
// for a short while after each region, whoever else is in the process, and then sleeps.
#pragma once

#include <atomic>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>
#include <type_traits>
#include <vector>

namespace slim::kernels {

class ThreadTeam {
 public:
  // threads <= 1: no workers, every region runs on the caller.
  explicit ThreadTeam(int threads);
  ~ThreadTeam();
  ThreadTeam(const ThreadTeam&) = delete;
  ThreadTeam& operator=(const ThreadTeam&) = delete;

  int size() const noexcept { return static_cast<int>(workers_.size()) + 1; }

  // Calls body(t, n) for every t in [0, n), n = clamp(threads, 1, size()), the caller taking t = 0,
  // and returns when every call has returned. The first exception a call throws is rethrown here
  // once all have finished. One region at a time: only the owner's thread may call run().
  template <class Body>
  void run(int threads, Body&& body) {
    using B = std::remove_reference_t<Body>;
    run_erased(threads, [](void* b, int t, int n) { (*static_cast<B*>(b))(t, n); }, &body);
  }

  // body(i) for i in [0, count): thread t of n takes the t-th of n contiguous ranges
  // (OpenMP's schedule(static)).
  template <class Body>
  void for_static(int threads, int64_t count, Body&& body) {
    run(threads, [&](int t, int n) {
      for (int64_t i = count * t / n, end = count * (t + 1) / n; i < end; ++i) body(i);
    });
  }

  // body(i, t) for i in [0, count), item i on thread i mod n (OpenMP's schedule(static, 1)):
  // items that grow with i (causal attention rows) spread evenly. t names the thread's scratch.
  template <class Body>
  void for_cyclic(int threads, int64_t count, Body&& body) {
    run(threads, [&](int t, int n) {
      for (int64_t i = t; i < count; i += n) body(i, t);
    });
  }

  // body(i, t) for i in [0, count), each item taken by the next free thread (OpenMP's
  // schedule(dynamic, 1)): a thread that loses its core to another process does not hold the
  // others up.
  template <class Body>
  void for_dynamic(int threads, int64_t count, Body&& body) {
    std::atomic<int64_t> next{0};
    run(threads, [&](int t, int) {
      for (int64_t i; (i = next.fetch_add(1, std::memory_order_relaxed)) < count;) body(i, t);
    });
  }

 private:
  using Call = void (*)(void*, int, int);
  void run_erased(int threads, Call call, void* body);
  void work(int member);
  void keep_error(std::exception_ptr error);

  std::vector<std::thread> workers_;
  // The region being run, written by the owner before it bumps `generation_` (release) and read
  // by the workers after they see the bump (acquire).
  Call call_ = nullptr;
  void* body_ = nullptr;
  int members_ = 0;
  bool stopping_ = false;
  alignas(64) std::atomic<uint64_t> generation_{0};
  alignas(64) std::atomic<int> running_{0};  // workers that have not yet answered the region
  std::mutex error_mutex_;
  std::exception_ptr error_;
};

}  // namespace slim::kernels
