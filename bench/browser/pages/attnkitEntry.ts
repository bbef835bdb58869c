/**
 * ATTNKIT-WASM SWITCH: the attnkit module the attnkit pages run. While src/browser.ts (the
 * browser entry with loadWasmBackend / useBackend / backendName) does not exist, this is the
 * pure-TS core, which runs on the js backend only and the attnkit-wasm rows say so; when it
 * lands, point this line at '../../../src/browser.ts'.
 */
export * from '../../../src/index.ts';
