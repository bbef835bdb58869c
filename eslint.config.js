import tseslint from 'typescript-eslint';
import attnkit from './tools/eslint-plugin-attnkit.js';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', '.tmp/', 'runs/', '.readme-*/', 'build/', 'wasm/', 'test/viz/out/'] },
  ...tseslint.configs.recommended,
  {
    plugins: { attnkit },
    rules: {
      'attnkit/layers': 'error',
      'attnkit/no-cycles': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
      'no-restricted-properties': ['error', { object: 'Math', property: 'random', message: 'Randomness comes from an explicit seeded Generator.' }],
    },
  },
);
