// A fixed set of worker threads that run the tasks of one batch step.
//
// ParallelFor(n, fn) runs fn(0..n-1) spread over the pool's threads and the
// calling thread, and returns when all have finished. With one thread it runs
// everything inline on the caller, in index order: the executor's
// deterministic single-threaded mode.
//
// Thread-safety: ParallelFor must be called from one thread at a time (the
// executor's coordinator). `fn` is called concurrently for different indices.
//
// Example:
//   ThreadPool pool(4);
//   pool.ParallelFor(parts, [&](int p) { RunPartition(p); });
#ifndef EDDY_ENGINE_THREAD_POOL_H_
#define EDDY_ENGINE_THREAD_POOL_H_

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/function_ref.h"

namespace eddy {

class ThreadPool {
 public:
  // REQUIRES: threads >= 1. Starts threads - 1 workers.
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int threads() const { return threads_; }

  void ParallelFor(int n, absl::FunctionRef<void(int)> fn);

 private:
  void WorkerLoop();
  void RunTasks();

  const int threads_;
  std::vector<std::thread> workers_;

  std::mutex mu_;
  std::condition_variable work_cv_;  // generation_ or stop_ changed
  std::condition_variable idle_cv_;  // active_workers_ dropped to zero
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;
  int active_workers_ ABSL_GUARDED_BY(mu_) = 0;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;

  // The current job; written by the caller before generation_ is bumped.
  absl::FunctionRef<void(int)>* job_fn_ = nullptr;
  int job_n_ = 0;
  std::atomic<int> next_index_{0};
};

}  // namespace eddy

#endif  // EDDY_ENGINE_THREAD_POOL_H_
