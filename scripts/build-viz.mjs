// Bundles the viewer page's script (src/viz/app.ts, browser code) into dist/viz/app.js with
// esbuild. Runs in `npm run build` / `prepare`; the published package ships the bundle.
// The options are src/cli/viewerFiles.ts's viewerBuildOptions (a source checkout bundles there):
// `attnkit/browser` is this package's browser entry, and `import.meta.url` the page's folder (set
// by the page, WASM_BASE_GLOBAL in src/viz/page.ts) so the wasm loader finds wasm/ beside it.
import { build } from 'esbuild';
import { resolve } from 'node:path';

await build({
  entryPoints: ['src/viz/app.ts'],
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  alias: { 'attnkit/browser': resolve('src/browser.ts') },
  define: { 'import.meta.url': 'globalThis.__attnkitModuleUrl' },
  minify: true,
  sourcemap: false,
  outfile: 'dist/viz/app.js',
  logLevel: 'warning',
});
