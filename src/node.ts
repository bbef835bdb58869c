/**
 * attnkit for Node.js: everything in the core, on the native backend when its addon loads
 * (choose with ATTNKIT_BACKEND=js|native, threads with ATTNKIT_NUM_THREADS or setNumThreads).
 * This is the package's entry under Node; browsers get the pure-TS core.
 */
export * from './index.js';
/** `data` with the Node-only readers (readRecords, streamRecords) and dataset adapters (spamAssassin, cpsWages, penguins). */
export * as data from './dataNode.js';
export { useBackend, selectBackendFromEnv, nativeInfo, setNumThreads, setNativeIsa, backendName } from './backend/native/index.js';
import { selectBackendFromEnv } from './backend/native/index.js';

selectBackendFromEnv();
