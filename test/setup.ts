// Loaded before every test file (scripts/test.mjs): selects the backend named by ATTNKIT_BACKEND.
// A run that asked for native or wasm must get it, so a broken build cannot pass as green.
import { initBackend } from '../src/backend/native/index.js';

const got = await initBackend();
if (process.env.ATTNKIT_BACKEND === 'native' && got !== 'native') {
  throw new Error('ATTNKIT_BACKEND=native but the native addon did not load: run `npm run build:native`');
}
if (process.env.ATTNKIT_BACKEND === 'wasm' && got !== 'wasm') {
  throw new Error('ATTNKIT_BACKEND=wasm but the wasm backend did not load: run `npm run build:wasm`');
}
