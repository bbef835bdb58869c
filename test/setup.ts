// Loaded before every test file (scripts/test.mjs): selects the backend named by ATTNKIT_BACKEND.
// A run that asked for native must get it, so a broken addon build cannot pass as green.
import { selectBackendFromEnv } from '../src/backend/native/index.js';

const got = selectBackendFromEnv();
if (process.env.ATTNKIT_BACKEND === 'native' && got !== 'native') {
  throw new Error('ATTNKIT_BACKEND=native but the native addon did not load: run `npm run build:native`');
}
