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

void ThreadPool::run_chunks(Job& job, int id) {
  for (;;) {
    int c = job.next.fetch_add(1);
    if (c >= job.chunks) return;
    (*job.fn)(job.n * c / job.chunks, job.n * (c + 1) / job.chunks, id);
    if (job.remaining.fetch_sub(1) == 1) {
      std::lock_guard<std::mutex> lk(mu_);
      done_cv_.notify_all();
    }
  }
}

void ThreadPool::parallel_for(long n, const std::function<void(long, long, int)>& fn) {
  if (n <= 0) return;
  int chunks = static_cast<int>(std::min<long>(n, size()));
  if (chunks == 1 || workers_.empty()) {
    fn(0, n, 0);
    return;
  }
  auto job = std::make_shared<Job>();
  job->fn = &fn;
  job->n = n;
  job->chunks = chunks;
  job->remaining.store(chunks);
  {
    std::lock_guard<std::mutex> lk(mu_);
    job_ = job;
    generation_++;
  }
  cv_.notify_all();
  run_chunks(*job, 0);  // the caller takes chunks too
  std::unique_lock<std::mutex> lk(mu_);
  done_cv_.wait(lk, [&] { return job->remaining.load() == 0; });
  job_.reset();
}

void ThreadPool::worker(int id) {
  unsigned long seen = 0;
  for (;;) {
    std::shared_ptr<Job> job;
    {
      std::unique_lock<std::mutex> lk(mu_);
      cv_.wait(lk, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = generation_;
      job = job_;
    }
    if (job) run_chunks(*job, id);
  }
}

static std::unique_ptr<ThreadPool> g_pool;

// a WebAssembly build without pthreads has no other thread to give work to
#if defined(__EMSCRIPTEN__) && !defined(__EMSCRIPTEN_PTHREADS__)
constexpr int MAX_THREADS = 1;
#else
constexpr int MAX_THREADS = 1 << 10;
#endif

static int default_threads() {
#if defined(__EMSCRIPTEN__)
  return 1;  // the wasm loader sets the count (setNumThreads) from the threads the page or process may use
#else
  if (const char* env = std::getenv("ATTNKIT_NUM_THREADS")) {
    int v = std::atoi(env);
    if (v > 0) return v;
  }
  unsigned hw = std::thread::hardware_concurrency();
  return hw > 0 ? static_cast<int>(hw) : 1;
#endif
}

ThreadPool& pool() {
  if (!g_pool) g_pool = std::make_unique<ThreadPool>(default_threads());
  return *g_pool;
}

void set_num_threads(int n) {
  if (n < 1) n = 1;
  if (n > MAX_THREADS) n = MAX_THREADS;
  if (g_pool && g_pool->size() == n) return;
  g_pool.reset();
  g_pool = std::make_unique<ThreadPool>(n);
}

int num_threads() { return pool().size(); }

}  // namespace attnkit
