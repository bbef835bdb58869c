/*
 * FMA ceiling probe: the machine's peak float32 FMA throughput, the roof every GFLOP/s in
 * the benchmark is compared with. Each thread runs 12 independent FMA chains (enough to
 * hide the 4-cycle latency on two FMA ports) on the widest vectors the CPU has.
 * Usage: fma_probe <threads> <iterations>   Prints one JSON line.
 */
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static long iterations;
static volatile float sink[64];

#define CHAINS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)

__attribute__((target("avx512f"))) static void *run512(void *arg) {
  __m512 b = _mm512_set1_ps(0.999f), c = _mm512_set1_ps(1e-4f);
#define DECL(i) __m512 a##i = _mm512_set1_ps((float)(i));
  CHAINS(DECL)
  for (long it = 0; it < iterations; it++) {
#define STEP(i) a##i = _mm512_fmadd_ps(a##i, b, c);
    CHAINS(STEP)
#define KEEP(i) __asm__ volatile("" : "+v"(a##i));
    CHAINS(KEEP)
  }
  __m512 s = a0;
#define SUM(i) s = _mm512_add_ps(s, a##i);
  CHAINS(SUM)
  sink[(long)arg] = _mm512_reduce_add_ps(s);
  return NULL;
}

__attribute__((target("avx2,fma"))) static void *run256(void *arg) {
  __m256 b = _mm256_set1_ps(0.999f), c = _mm256_set1_ps(1e-4f);
#define DECL2(i) __m256 a##i = _mm256_set1_ps((float)(i));
  CHAINS(DECL2)
  for (long it = 0; it < iterations; it++) {
#define STEP2(i) a##i = _mm256_fmadd_ps(a##i, b, c);
    CHAINS(STEP2)
    CHAINS(KEEP)
  }
  __m256 s = a0;
#define SUM2(i) s = _mm256_add_ps(s, a##i);
  CHAINS(SUM2)
  float out[8];
  _mm256_storeu_ps(out, s);
  sink[(long)arg] = out[0];
  return NULL;
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
  int threads = argc > 1 ? atoi(argv[1]) : 1;
  iterations = argc > 2 ? atol(argv[2]) : 200000000L;
  if (threads < 1 || threads > 64 || iterations < 1) {
    fprintf(stderr, "usage: fma_probe <threads 1..64> <iterations>\n");
    return 2;
  }
  __builtin_cpu_init();
  int avx512 = __builtin_cpu_supports("avx512f");
  if (!avx512 && !(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))) {
    printf("{\"isa\":\"none\",\"threads\":%d,\"gflops\":null}\n", threads);
    return 0;
  }
  void *(*fn)(void *) = avx512 ? run512 : run256;
  int lanes = avx512 ? 16 : 8;
  pthread_t tid[64];
  double t0 = now();
  for (long i = 0; i < threads; i++) pthread_create(&tid[i], NULL, fn, (void *)i);
  for (int i = 0; i < threads; i++) pthread_join(tid[i], NULL);
  double dt = now() - t0;
  double flops = 2.0 * lanes * 12.0 * (double)iterations * threads;
  printf("{\"isa\":\"%s\",\"threads\":%d,\"seconds\":%.4f,\"gflops\":%.2f}\n", avx512 ? "avx512" : "avx2", threads, dt,
         flops / dt / 1e9);
  return 0;
}
