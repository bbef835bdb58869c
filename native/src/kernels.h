// The native kernels: their prototypes, enums and argument structs are generated from the kernel
// table (src/backend/native/kernelTable.ts) by scripts/gen-kernels.mjs; the bodies live in
// elementwise.cc, rows.cc, conv.cc, gemm.cc and attention.cc.
#pragma once
#include "generated/kernels.gen.h"
