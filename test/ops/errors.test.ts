import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as F from '../../src/index.js';
import { tensor, zeros, Generator, randn, ShapeError, DTypeError, IndexError, ValueError, backward } from '../../src/index.js';

const throwsWith = (fn: () => unknown, cls: new (...a: never[]) => Error, ...parts: (string | RegExp)[]): void => {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof cls, `expected ${cls.name}, got ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`);
    for (const p of parts) assert.match((e as Error).message, typeof p === 'string' ? new RegExp(p.replace(/[[\]().*+?^$|\\]/g, '\\$&')) : p);
    return true;
  });
};

test('shape mismatches raise ShapeError naming the function and shapes', () => {
  throwsWith(() => F.add(zeros([2, 3]), zeros([4])), ShapeError, 'add', '[2,3]', '[4]');
  throwsWith(() => F.matmul(zeros([2, 3]), zeros([4, 5])), ShapeError, 'matmul', '[2,3]', '[4,5]');
  throwsWith(() => F.reshape(zeros([2, 3]), [4, 2]), ShapeError, 'reshape', '[2,3]', '[4,2]');
  throwsWith(() => F.linear(zeros([2, 7]), zeros([3, 8])), ShapeError, 'linear', '[2,7]', 'last dim 8');
  throwsWith(() => F.concat([zeros([2, 3]), zeros([3, 3])], 1), ShapeError, 'concat', '[3,3]');
  throwsWith(() => F.conv2d(zeros([1, 3, 5, 5]), zeros([4, 2, 3, 3])), ShapeError, 'conv2d', '3 channels');
  throwsWith(() => F.layerNorm(zeros([2, 5]), [4]), ShapeError, 'layerNorm', '[2,5]', '[4]');
  throwsWith(() => F.crossEntropy(zeros([3, 4]), tensor([1, 2], { dtype: 'int32' })), ShapeError, 'crossEntropy', '[2]', '[3]');
  throwsWith(() => F.maxPool2d(zeros([1, 1, 2, 2]), 3), ShapeError, 'maxPool2d', 'does not fit');
  throwsWith(() => backward(F.mul(zeros([2]).requireGrad(), 2)), ShapeError, 'backward', 'non-scalar');
});

test('wrong dtypes raise DTypeError', () => {
  throwsWith(() => F.embedding(zeros([3]), zeros([5, 2])), DTypeError, 'embedding', 'ids', 'int32', 'float32');
  throwsWith(() => F.softmax(tensor([1, 2], { dtype: 'int32' })), DTypeError, 'softmax', 'float');
  throwsWith(() => F.where(zeros([2]), 1, 2), DTypeError, 'where', 'cond', 'bool');
  throwsWith(() => F.add(zeros([2]), zeros([2], { dtype: 'float64' })), DTypeError, 'add', 'float32', 'float64');
  throwsWith(() => F.matmul([1, 2] as never, zeros([2])), DTypeError, 'matmul', 'a must be a Tensor');
  throwsWith(() => tensor([1, 2], { dtype: 'int32' }).requireGrad(), DTypeError, 'requireGrad');
});

test('out-of-range indices and dims raise IndexError', () => {
  throwsWith(() => F.embedding(tensor([0, 5], { dtype: 'int32' }), zeros([5, 2])), IndexError, 'embedding', 'id 5', '5 embeddings');
  throwsWith(() => F.indexSelect(zeros([3, 2]), 0, tensor([-1], { dtype: 'int32' })), IndexError, 'indexSelect', '-1');
  throwsWith(() => F.gather(zeros([2, 2]), 1, tensor([[0, 2], [1, 1]], { dtype: 'int32' })), IndexError, 'gather', 'index 2');
  throwsWith(() => F.sum(zeros([2, 3]), 2), IndexError, 'sum', 'dim=2');
  throwsWith(() => F.softmax(zeros([2, 3]), -3), IndexError, 'softmax', 'dim=-3');
  throwsWith(() => F.crossEntropy(zeros([2, 3]), tensor([0, 3], { dtype: 'int32' })), IndexError, 'crossEntropy', 'target 3', '3 classes');
  throwsWith(() => F.narrow(zeros([4]), 0, 2, 3), IndexError, 'narrow', 'size 4');
});

test('bad values raise ValueError: negative sizes, NaN seeds, bad probabilities', () => {
  throwsWith(() => zeros([2, -1]), ValueError, 'zeros', '-1');
  throwsWith(() => new Generator(NaN), ValueError, 'Generator', 'seed', 'NaN');
  throwsWith(() => randn([2], { rng: 5 } as never), ValueError, 'randn', 'rng', 'Generator');
  throwsWith(() => F.dropout(zeros([2]), 1, { training: true, rng: new Generator(1) }), ValueError, 'dropout', 'p');
  throwsWith(() => F.dropout(zeros([2]), 0.5, { training: true, rng: 'x' } as never), ValueError, 'dropout', 'rng', 'Generator');
  throwsWith(() => tensor([[1, 2], [3]]), ValueError, 'tensor', 'ragged');
  throwsWith(() => F.clamp(zeros([1]), { min: 2, max: 1 }), ValueError, 'clamp');
  throwsWith(() => F.conv2d(zeros([1, 2, 4, 4]), zeros([2, 2, 3, 3]), null, { stride: 0 }), ValueError, 'conv2d', 'stride');
});

test('clone copies: writing the copy leaves x as it was, and a non-tensor is a DTypeError naming clone', () => {
  const x = tensor([1, 2, 3]);
  const y = F.clone(x);
  (y.data as Float32Array)[0] = 9;
  assert.deepEqual(Array.from(x.data), [1, 2, 3]);
  assert.deepEqual(y.shape, [3]);
  throwsWith(() => F.clone([1, 2] as never), DTypeError, 'clone', 'x');
});
