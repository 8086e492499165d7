#include "engine/thread_pool.h"

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace eddy {
namespace {

// Runs ParallelFor(n) once and checks that every index ran exactly once.
void ExpectEachIndexOnce(ThreadPool& pool, int n) {
  std::unique_ptr<std::atomic<int>[]> counts(new std::atomic<int>[n > 0 ? n : 1]);
  for (int i = 0; i < n; ++i) counts[i].store(0);
  std::atomic<int> out_of_range{0};
  pool.ParallelFor(n, [&](int i) {
    if (i < 0 || i >= n) {
      out_of_range.fetch_add(1);
      return;
    }
    counts[i].fetch_add(1);
  });
  EXPECT_EQ(out_of_range.load(), 0) << "n=" << n;
  for (int i = 0; i < n; ++i) {
    ASSERT_EQ(counts[i].load(), 1) << "index " << i << " of n=" << n;
  }
}

class ThreadPoolTest : public ::testing::TestWithParam<int> {};

TEST_P(ThreadPoolTest, ReportsThreadCount) {
  ThreadPool pool(GetParam());
  EXPECT_EQ(pool.threads(), GetParam());
}

TEST_P(ThreadPoolTest, RunsEachIndexExactlyOnce) {
  ThreadPool pool(GetParam());
  for (int n : {1, 2, 3, 4, 5, 7, 8, 16, 100, 1000}) ExpectEachIndexOnce(pool, n);
}

TEST_P(ThreadPoolTest, ZeroTasksCallsNothing) {
  ThreadPool pool(GetParam());
  std::atomic<int> calls{0};
  pool.ParallelFor(0, [&](int) { calls.fetch_add(1); });
  EXPECT_EQ(calls.load(), 0);
  // The pool is still usable afterwards.
  ExpectEachIndexOnce(pool, 10);
}

TEST_P(ThreadPoolTest, ManyRepeatedCallsEachRunEveryIndexOnce) {
  ThreadPool pool(GetParam());
  const int threads = GetParam();
  for (int round = 0; round < 2000; ++round) {
    // Cycle through n below, at and above the thread count.
    const int n = 1 + round % (2 * threads + 3);
    ExpectEachIndexOnce(pool, n);
    if (::testing::Test::HasFatalFailure()) return;
  }
}

TEST_P(ThreadPoolTest, ResultsWrittenByTasksAreVisibleAfterReturn) {
  ThreadPool pool(GetParam());
  for (int round = 0; round < 200; ++round) {
    std::vector<int> out(64, -1);  // plain ints: ParallelFor must synchronize
    pool.ParallelFor(static_cast<int>(out.size()), [&](int i) { out[i] = i * round; });
    for (int i = 0; i < static_cast<int>(out.size()); ++i) {
      ASSERT_EQ(out[i], i * round) << "round " << round;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Threads, ThreadPoolTest, ::testing::Values(1, 2, 4),
                         [](const ::testing::TestParamInfo<int>& info) {
                           return "Threads" + std::to_string(info.param);
                         });

TEST(ThreadPoolSingleThreadTest, RunsInIndexOrderOnCallerThread) {
  ThreadPool pool(1);
  const std::thread::id caller = std::this_thread::get_id();
  std::vector<int> order;
  bool all_on_caller = true;
  pool.ParallelFor(50, [&](int i) {
    order.push_back(i);
    if (std::this_thread::get_id() != caller) all_on_caller = false;
  });
  ASSERT_EQ(order.size(), 50u);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(order[i], i);
  EXPECT_TRUE(all_on_caller);
}

TEST(ThreadPoolSingleThreadTest, RepeatedCallsStayInOrder) {
  ThreadPool pool(1);
  for (int round = 0; round < 100; ++round) {
    std::vector<int> order;
    pool.ParallelFor(round, [&](int i) { order.push_back(i); });
    ASSERT_EQ(order.size(), static_cast<size_t>(round));
    for (int i = 0; i < round; ++i) ASSERT_EQ(order[i], i);
  }
}

TEST(ThreadPoolLifetimeTest, DestroysCleanlyAfterUse) {
  for (int threads : {1, 2, 4}) {
    std::atomic<int> calls{0};
    {
      ThreadPool pool(threads);
      pool.ParallelFor(10, [&](int) { calls.fetch_add(1); });
    }
    EXPECT_EQ(calls.load(), 10);
  }
}

TEST(ThreadPoolLifetimeTest, DestroysCleanlyWithoutUse) {
  for (int threads : {1, 2, 4}) {
    ThreadPool pool(threads);
    EXPECT_EQ(pool.threads(), threads);
  }
}

}  // namespace
}  // namespace eddy
