/**
 * attnkit's benchmark page: ?impl=attnkit-wasm (the wasm backend, the build the engine supports: relaxed SIMD
 * in Chromium; ?threads=n), attnkit-wasm-plain (its plain SIMD128 build) or attnkit-js.
 */
import * as entry from './attnkitEntry.ts';
import { attnkitRunner } from '../attnkitRunner.ts';
import { expose, type Peer } from '../harness.ts';

/** The browser entry's backend controls (src/browser.ts); absent from the pure-TS core. */
interface WasmControls {
  loadWasmBackend(options?: { threads?: number; url?: string | URL; relaxed?: boolean }): Promise<void>;
  useBackend(name: 'wasm' | 'js'): unknown;
  backendName(): string;
  wasmInfo(): { threads?: number; simd?: boolean; relaxed?: boolean; build?: string } | null;
}
const ak = entry as typeof entry & Partial<WasmControls>;

async function peer(): Promise<Peer> {
  const params = new URLSearchParams(location.search);
  const impl = params.get('impl');
  const threads = Number(params.get('threads') ?? navigator.hardwareConcurrency);
  if (impl === 'attnkit-wasm' || impl === 'attnkit-wasm-plain') {
    if (!ak.loadWasmBackend || !ak.useBackend) throw new Error('no wasm backend in this build (bench/browser/pages/attnkitEntry.ts points at the pure-TS core)');
    await ak.loadWasmBackend({ threads, relaxed: impl === 'attnkit-wasm-plain' ? false : undefined });
    ak.useBackend('wasm');
    if (ak.backendName?.() !== 'wasm') throw new Error(`asked for the wasm backend, got ${ak.backendName?.()}`);
  } else if (impl === 'attnkit-js') {
    ak.useBackend?.('js');
  } else throw new Error(`attnkit page: unknown impl ${impl}`);
  return {
    info: () => {
      if (impl === 'attnkit-js') return { note: 'attnkit js backend, 1 thread', threads: 1 };
      const w = ak.wasmInfo?.();
      const simd = w?.simd ? ` (SIMD128${w.relaxed ? ' + relaxed madd' : ''}, ${w.build}${w.relaxed ? '-rx' : ''} build)` : '';
      return { note: `attnkit wasm backend${simd}, ${w?.threads ?? '?'} threads`, threads: w?.threads ?? 0 };
    },
    prepare: (c) => attnkitRunner(entry, c),
  };
}

expose(peer());
