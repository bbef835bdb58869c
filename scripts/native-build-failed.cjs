// Runs when `node-gyp rebuild` fails during install: the package still installs and runs on the wasm
// backend it ships (wasm/: the same C++ kernels compiled to WebAssembly), or on js where that cannot load.
console.warn('attnkit: the native addon did not build (see the node-gyp output above); attnkit will run on the wasm backend (the same kernels compiled to WebAssembly, shipped in the package).');
