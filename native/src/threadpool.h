// A small fork-join pool: parallel_for splits [0, n) among the workers and the calling thread.
#pragma once
#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
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
  // One parallel_for call. Its chunk counter belongs to it alone: a worker that wakes late and
  // still holds an earlier job finds that job's chunks all claimed and never touches the new one.
  struct Job {
    const std::function<void(long, long, int)>* fn;
    long n;
    int chunks;
    std::atomic<int> next{0};
    std::atomic<int> remaining{0};
  };
  // Claims and runs chunks of `job` until none are left; notifies the caller after the last one.
  void run_chunks(Job& job, int id);
  void worker(int id);
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::condition_variable done_cv_;
  std::shared_ptr<Job> job_;
  unsigned long generation_ = 0;
  bool stop_ = false;
};

ThreadPool& pool();
void set_num_threads(int n);
int num_threads();

}  // namespace attnkit
