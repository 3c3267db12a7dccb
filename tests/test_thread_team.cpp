// kernels::ThreadTeam: every index of a region runs exactly once on the member it is dealt to,
// regions follow each other without losing or repeating work, exceptions come back to the caller,
// and teams of different owners run side by side.
#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <stdexcept>
#include <thread>
#include <vector>

#include "kernels/thread_team.hpp"

using slim::kernels::ThreadTeam;

TEST_CASE("a thread team runs every member of every region once") {
  for (int size : {1, 2, 3, 5}) {
    ThreadTeam team(size);
    REQUIRE(team.size() == size);
    for (int threads : {0, 1, 2, 3, 5, 9}) {
      const int n = std::clamp(threads, 1, size);
      for (int region = 0; region < 200; ++region) {  // many regions: a worker must never miss one
        std::vector<std::atomic<int>> calls(static_cast<size_t>(size));
        std::atomic<int> seen_n{0};
        team.run(threads, [&](int t, int members) {
          calls[static_cast<size_t>(t)]++;
          seen_n = members;
        });
        REQUIRE(seen_n == n);
        for (int t = 0; t < size; ++t) REQUIRE(calls[static_cast<size_t>(t)] == (t < n ? 1 : 0));
      }
    }
  }
}

TEST_CASE("thread team loops visit each index once") {
  ThreadTeam team(3);
  for (int64_t count : {0, 1, 2, 7, 100, 1001}) {
    // Catch2's assertions are for the test's thread only: the members record, the caller checks.
    std::vector<int> a(static_cast<size_t>(count)), b(a.size()), c(a.size());
    std::atomic<bool> wrong_member{false};
    team.for_static(3, count, [&](int64_t i) { a[static_cast<size_t>(i)]++; });
    team.for_cyclic(3, count, [&](int64_t i, int t) {
      b[static_cast<size_t>(i)]++;
      if (i % 3 != t) wrong_member = true;
    });
    team.for_dynamic(3, count, [&](int64_t i, int t) {
      c[static_cast<size_t>(i)]++;
      if (t < 0 || t >= 3) wrong_member = true;
    });
    CHECK(!wrong_member);
    for (size_t i = 0; i < a.size(); ++i) REQUIRE((a[i] == 1 && b[i] == 1 && c[i] == 1));
  }
}

TEST_CASE("an exception in a region reaches the caller and the team goes on") {
  ThreadTeam team(2);
  for (int thrower : {0, 1}) {
    CHECK_THROWS_WITH(team.run(2, [&](int t, int) {
                        if (t == thrower) throw std::runtime_error("member " + std::to_string(t));
                      }),
                      "member " + std::to_string(thrower));
    std::atomic<int> calls{0};
    team.run(2, [&](int, int) { calls++; });
    CHECK(calls == 2);
  }
}

TEST_CASE("teams of different owners run at once, and a team is destroyed while idle [concurrency]") {
  std::vector<std::thread> owners;
  std::atomic<int64_t> total{0};
  for (int o = 0; o < 3; ++o) {
    owners.emplace_back([&] {
      for (int round = 0; round < 5; ++round) {
        ThreadTeam team(2);
        for (int region = 0; region < 100; ++region) {
          team.for_dynamic(2, 50, [&](int64_t i, int) { total += i; });
        }
      }
    });
  }
  for (auto& t : owners) t.join();
  CHECK(total == 3 * 5 * 100 * (49 * 50 / 2));
}
