// Bundles the viewer page's script (src/viz/app.ts, browser code) into dist/viz/app.js with
// esbuild. Runs in `npm run build` / `prepare`; the published package ships the bundle.
import { build } from 'esbuild';

await build({
  entryPoints: ['src/viz/app.ts'],
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  minify: true,
  sourcemap: false,
  outfile: 'dist/viz/app.js',
  logLevel: 'warning',
});
