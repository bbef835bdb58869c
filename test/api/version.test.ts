/** One version: package.json's is the one the CLI prints, the viewer's export records and ONNX files carry as producer_version. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { VERSION } from '../../src/version.js';
import { ATTNKIT_VERSION } from '../../src/cli/viewerFiles.js';
import { exportOnnx } from '../../src/onnx/export.js';
import { nn } from '../../src/index.js';

test('src/version.ts holds package.json\'s version (bump both together)', () => {
  const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
  assert.equal(VERSION, pkg.version);
  assert.equal(ATTNKIT_VERSION, pkg.version);
});

test('an exported ONNX model names attnkit and its version as producer', () => {
  const bytes = exportOnnx(new nn.Linear(2, 3));
  // ModelProto: ir_version (field 1, varint 8), producer_name (field 2), producer_version (field 3)
  const head = [0x08, 0x08, 0x12, 7, ...Buffer.from('attnkit'), 0x1a, VERSION.length, ...Buffer.from(VERSION)];
  assert.deepEqual(Array.from(bytes.subarray(0, head.length)), head);
});
