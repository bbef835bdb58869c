/**
 * The attnkit module the attnkit pages run: the browser entry (src/browser.ts, the package's
 * `attnkit/browser`), whose loadWasmBackend / useBackend / backendName pick the backend. Point
 * this line at '../../../src/index.ts' to bench a build without the wasm backend: the
 * attnkit-wasm rows then say so and are skipped.
 */
export * from '../../../src/browser.ts';
