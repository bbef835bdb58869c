{
  "variables": { "openmp%": "false" },
  "target_defaults": {
    "cflags_cc": ["-std=c++17", "-O3", "-fno-math-errno", "-fvisibility=hidden"],
    "cflags_cc!": ["-fno-exceptions", "-std=gnu++17", "-std=gnu++20", "-O2", "-O0"],
    "cflags!": ["-O2", "-O0"],
    "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")", "native/src"],
    "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"]
  },
  "targets": [
    {
      "target_name": "attnkit_avx2",
      "type": "static_library",
      "sources": ["native/src/gemm_avx2.cc", "native/src/vmath_avx2.cc", "native/src/attention_avx2.cc"],
      "cflags_cc": ["-mavx2", "-mfma", "-fPIC"]
    },
    {
      "target_name": "attnkit_avx512",
      "type": "static_library",
      "sources": ["native/src/gemm_avx512.cc", "native/src/vmath_avx512.cc", "native/src/attention_avx512.cc"],
      "cflags_cc": ["-mavx512f", "-mavx512vl", "-mavx512dq", "-mavx2", "-mfma", "-fPIC", "-Wno-uninitialized", "-Wno-maybe-uninitialized"]
    },
    {
      "target_name": "attnkit_native",
      "dependencies": ["attnkit_avx2", "attnkit_avx512"],
      "sources": [
        "native/src/addon.cc", "native/src/cpu.cc", "native/src/threadpool.cc", "native/src/gemm.cc",
        "native/src/elementwise.cc", "native/src/rows.cc", "native/src/conv.cc", "native/src/attention.cc"
      ],
      "cflags_cc": ["-fPIC"],
      "ldflags": ["-Wl,-z,now"],
      "libraries": ["-lpthread"]
    }
  ]
}
