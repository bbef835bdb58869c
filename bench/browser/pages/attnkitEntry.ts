/**
 * The attnkit module the attnkit pages run: the core entry (src/core.ts, the package's `attnkit/core`:
 * `attnkit/browser` without its load at import), so the page's loadWasmBackend call chooses the build
 * (the engine's, or the plain one for attnkit-wasm-plain) and useBackend / backendName pick it. Point
 * this line at '../../../src/index.ts' to bench a build without the wasm backend: the
 * attnkit-wasm rows then say so and are skipped.
 */
export * from '../../../src/core.ts';
