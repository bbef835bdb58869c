// A small fork-join pool: parallel_for splits [0, n) among the workers and the calling thread.
#pragma once
#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace attnkit {

class ThreadPool {
 public:
  explicit ThreadPool(int threads);
  ~ThreadPool();
  int size() const { return static_cast<int>(workers_.size()) + 1; }
  // Runs fn(begin, end, thread) over contiguous chunks of [0, n); returns when all are done.
  void parallel_for(long n, const std::function<void(long, long, int)>& fn);

 private:
  void worker(int id);
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::condition_variable done_cv_;
  const std::function<void(long, long, int)>* task_ = nullptr;
  long n_ = 0;
  int chunks_ = 0;
  std::atomic<int> next_{0};
  std::atomic<int> remaining_{0};
  unsigned long generation_ = 0;
  bool stop_ = false;
};

ThreadPool& pool();
void set_num_threads(int n);
int num_threads();

}  // namespace attnkit
