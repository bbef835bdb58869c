#include "threadpool.h"

#include <cstdlib>
#include <memory>

namespace attnkit {

ThreadPool::ThreadPool(int threads) {
  for (int i = 1; i < threads; i++) workers_.emplace_back([this, i] { worker(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::parallel_for(long n, const std::function<void(long, long, int)>& fn) {
  if (n <= 0) return;
  int chunks = static_cast<int>(std::min<long>(n, size()));
  if (chunks == 1 || workers_.empty()) {
    fn(0, n, 0);
    return;
  }
  {
    std::lock_guard<std::mutex> lk(mu_);
    task_ = &fn;
    n_ = n;
    chunks_ = chunks;
    next_.store(0);
    remaining_.store(chunks);
    generation_++;
  }
  cv_.notify_all();
  // the caller takes chunks too
  for (;;) {
    int c = next_.fetch_add(1);
    if (c >= chunks) break;
    fn(n * c / chunks, n * (c + 1) / chunks, 0);
    remaining_.fetch_sub(1);
  }
  std::unique_lock<std::mutex> lk(mu_);
  done_cv_.wait(lk, [this] { return remaining_.load() == 0; });
  task_ = nullptr;
}

void ThreadPool::worker(int id) {
  unsigned long seen = 0;
  for (;;) {
    const std::function<void(long, long, int)>* task;
    long n;
    int chunks;
    {
      std::unique_lock<std::mutex> lk(mu_);
      cv_.wait(lk, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = generation_;
      task = task_;
      n = n_;
      chunks = chunks_;
    }
    for (;;) {
      int c = next_.fetch_add(1);
      if (c >= chunks) break;
      (*task)(n * c / chunks, n * (c + 1) / chunks, id);
      if (remaining_.fetch_sub(1) == 1) {
        std::lock_guard<std::mutex> lk(mu_);
        done_cv_.notify_all();
      }
    }
  }
}

static std::unique_ptr<ThreadPool> g_pool;

static int default_threads() {
  if (const char* env = std::getenv("ATTNKIT_NUM_THREADS")) {
    int v = std::atoi(env);
    if (v > 0) return v;
  }
  unsigned hw = std::thread::hardware_concurrency();
  return hw > 0 ? static_cast<int>(hw) : 1;
}

ThreadPool& pool() {
  if (!g_pool) g_pool = std::make_unique<ThreadPool>(default_threads());
  return *g_pool;
}

void set_num_threads(int n) {
  if (n < 1) n = 1;
  if (g_pool && g_pool->size() == n) return;
  g_pool.reset();
  g_pool = std::make_unique<ThreadPool>(n);
}

int num_threads() { return pool().size(); }

}  // namespace attnkit
