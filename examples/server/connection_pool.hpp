// httplib's task queue with a bound on the connections served at once: `workers` threads serve
// them; a connection that arrives while every worker is busy goes to one more thread, on which
// rejecting() is true, so that the server answers it 503 at once instead of leaving it waiting.
#pragma once

#include <httplib.h>

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace slim::server {

class ConnectionPool : public httplib::TaskQueue {
 public:
  explicit ConnectionPool(size_t workers) {
    for (size_t i = 0; i < workers; ++i) threads_.emplace_back([this] { work(false); });
    threads_.emplace_back([this] { work(true); });
  }
  ~ConnectionPool() override { shutdown(); }

  void enqueue(std::function<void()> fn) override {
    {
      std::lock_guard lock(mutex_);
      (idle_ > jobs_.size() ? jobs_ : rejects_).push_back(std::move(fn));
    }
    cv_.notify_all();
  }

  void shutdown() override {
    {
      std::lock_guard lock(mutex_);
      if (closed_) return;
      closed_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
  }

  // True on the thread that answers connections beyond the bound.
  static bool rejecting() { return rejecting_; }

 private:
  void work(bool rejecter) {
    rejecting_ = rejecter;
    std::unique_lock lock(mutex_);
    for (;;) {
      auto& queue = rejecter ? rejects_ : jobs_;
      if (!rejecter) ++idle_;
      cv_.wait(lock, [&] { return closed_ || !queue.empty(); });
      if (!rejecter) --idle_;
      if (queue.empty()) return;  // closed, nothing left
      auto fn = std::move(queue.front());
      queue.pop_front();
      lock.unlock();
      fn();  // serves one connection, keep-alive requests included, and closes it
      lock.lock();
    }
  }

  static inline thread_local bool rejecting_ = false;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_, rejects_;
  size_t idle_ = 0;
  bool closed_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace slim::server
