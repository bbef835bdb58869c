/**
 * Called from JavaScript without its arguments, every exported layer, model, field encoder and the Trainer throws a
 * ValueError naming the class (was a TypeError such as "Cannot read properties of undefined (reading
 * 'embedDim')" from its first read of the options). TypeScript callers cannot get here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { data, models, nn, train } from '../../src/index.js';
import { ValueError } from '../../src/errors.js';

/** Classes that take no required argument. */
const CONSTRUCT_BARE = new Set(['Module', 'NadarayaWatson', 'EnsembleHeads', 'CheckpointError', 'LrSchedule', 'EncodedDataset']);

test('every exported class of nn, models, data and train refuses missing arguments with a ValueError naming it', () => {
  let checked = 0;
  for (const [ns, mod] of Object.entries({ nn, models, data, train })) {
    for (const [name, C] of Object.entries(mod as Record<string, unknown>)) {
      // Preprocessor's constructor is private (Preprocessor.fit builds one); error classes are not constructed this way
      if (typeof C !== 'function' || !/^[A-Z]/.test(name) || !C.prototype || CONSTRUCT_BARE.has(name) || name === 'Preprocessor' || name.endsWith('Error')) continue;
      const ctor = C as new (...args: unknown[]) => unknown;
      assert.throws(() => new ctor(), (e: Error) => e instanceof ValueError && e.message.startsWith(name === 'Trainer' ? 'Trainer' : name.replace(/Model$|2d$/, '')),
        `${ns}.${name}`);
      checked++;
    }
  }
  assert.ok(checked >= 47, `only ${checked} classes checked`);
});
