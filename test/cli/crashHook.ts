/**
 * Test preload, never part of the CLI: `node --import tsx --import ./test/cli/crashHook.ts
 * src/cli/main.ts …` with ATTNKIT_CRASH_AT_WRITE=N kills the process (SIGKILL: no handlers, no
 * flushing) at its Nth atomic write, after the temp file is written and before the rename.
 */
import { setBeforeRenameHook } from '../../src/cli/runDir.js';

const at = Number(process.env.ATTNKIT_CRASH_AT_WRITE);
let writes = 0;
if (Number.isInteger(at) && at > 0) setBeforeRenameHook(() => { if (++writes === at) process.kill(process.pid, 'SIGKILL'); });
