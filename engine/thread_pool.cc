#include "engine/thread_pool.h"

namespace eddy {

ThreadPool::ThreadPool(int threads) : threads_(threads < 1 ? 1 : threads) {
  workers_.reserve(threads_ - 1);
  for (int i = 1; i < threads_; ++i) workers_.emplace_back([this] { WorkerLoop(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  work_cv_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::RunTasks() {
  for (;;) {
    const int i = next_index_.fetch_add(1, std::memory_order_relaxed);
    if (i >= job_n_) return;
    (*job_fn_)(i);
  }
}

void ThreadPool::WorkerLoop() {
  uint64_t seen = 0;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      work_cv_.wait(lock, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = generation_;
      ++active_workers_;
    }
    RunTasks();
    std::lock_guard<std::mutex> lock(mu_);
    if (--active_workers_ == 0) idle_cv_.notify_all();
  }
}

void ThreadPool::ParallelFor(int n, absl::FunctionRef<void(int)> fn) {
  if (n <= 0) return;
  if (threads_ == 1 || n == 1) {
    for (int i = 0; i < n; ++i) fn(i);
    return;
  }
  {
    std::unique_lock<std::mutex> lock(mu_);
    // A worker that woke late for the previous job may still be leaving
    // RunTasks; it must not see the new job half set up.
    idle_cv_.wait(lock, [&] { return active_workers_ == 0; });
    job_fn_ = &fn;
    job_n_ = n;
    next_index_.store(0, std::memory_order_relaxed);
    ++generation_;
  }
  work_cv_.notify_all();
  RunTasks();
  // Every index is claimed; wait until no worker is still inside one.
  std::unique_lock<std::mutex> lock(mu_);
  idle_cv_.wait(lock, [&] { return active_workers_ == 0; });
}

}  // namespace eddy
