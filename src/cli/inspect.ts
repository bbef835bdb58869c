/**
 * `attnkit inspect <run>`: a local web server for the attention viewer. It serves the page,
 * its script, and files of the run directory under /run/ — nothing outside that directory
 * (resolved paths and symlinks are checked), only GET/HEAD, and by default only on the
 * loopback interface. Requests whose Host header names neither the bind address nor
 * localhost (with the port) are refused, whatever the bind (DNS-rebinding protection; see
 * allowedHosts.ts). Closing it drops idle and keep-alive connections at once and any other
 * after half a second, so Ctrl-C stops it although a browser holds a connection open.
 */
import { createServer, type Server } from 'node:http';
import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { dirname, extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PAGE_HTML } from '../viz/page.js';
import { allowedHosts, hostAllowed } from './allowedHosts.js';
import { checkOptions } from '../config.js';

const TYPES: Record<string, string> = { '.json': 'application/json', '.jsonl': 'application/x-ndjson', '.txt': 'text/plain', '.yaml': 'text/yaml' };

/**
 * The page script: in a source checkout (running from src/cli) a fresh esbuild bundle of
 * src/viz/app.ts; in the built package, dist/viz/app.js (made by npm run build).
 */
async function appScript(): Promise<string> {
  const here = dirname(fileURLToPath(import.meta.url));
  const source = join(here, '..', 'viz', 'app.ts');
  if (existsSync(source)) {
    const esbuild = await import('esbuild');
    const r = await esbuild.build({ entryPoints: [source], bundle: true, format: 'esm', platform: 'browser', target: 'es2022', write: false, logLevel: 'silent' });
    return r.outputFiles[0].text;
  }
  return readFileSync(join(here, '..', 'viz', 'app.js'), 'utf8');
}

export interface InspectServer { url: string; port: number; close: () => Promise<void>; server: Server }

/**
 * @example
 * const { url, close } = await startInspectServer({ dir: 'runs/spam-fusion-…', port: 0 });
 */
export async function startInspectServer(options: { dir: string; port?: number; host?: string }): Promise<InspectServer> {
  checkOptions('startInspectServer', options, { dir: true, port: true, host: true });
  const root = realpathSync(resolve(options.dir));
  const host = options.host ?? '127.0.0.1';
  const script = await appScript();
  let allowed = new Set<string>();   // set once listening (the port may be chosen by the system)
  const server = createServer((req, res) => {
    const send = (code: number, body: string | Buffer, type = 'text/plain; charset=utf-8'): void => {
      res.writeHead(code, { 'content-type': type, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'only GET and HEAD');
    if (!hostAllowed(req.headers.host, allowed)) return send(403, `this viewer only answers requests for ${[...allowed].join(' or ')}`);
    let path: string;
    try { path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname); } catch { return send(400, 'bad path'); }
    if (path === '/' || path === '/index.html') return send(200, PAGE_HTML, 'text/html; charset=utf-8');
    if (path === '/app.js') return send(200, script, 'text/javascript; charset=utf-8');
    if (!path.startsWith('/run/')) return send(404, 'not found');
    const target = resolve(root, `.${path.slice(4)}`);
    if (target !== root && !target.startsWith(root + sep)) return send(403, 'outside the run directory');
    if (!existsSync(target) || !statSync(target).isFile()) return send(404, 'no such file in the run directory');
    const real = realpathSync(target);
    if (!real.startsWith(root + sep)) return send(403, 'outside the run directory');
    return send(200, readFileSync(real), TYPES[extname(real)] ?? 'application/octet-stream');
  });
  await new Promise<void>((res, rej) => { server.once('error', rej); server.listen(options.port ?? 7801, host, () => res()); });
  const { port, address } = server.address() as { port: number; address: string };
  allowed = allowedHosts(host, port, address);
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}/`, port, server,
    close: () => new Promise((res) => {
      server.close(() => res());
      server.closeIdleConnections();
      // a request still open (a browser's preconnect, a half-sent request) gets half a second
      setTimeout(() => server.closeAllConnections(), 500).unref();
    }),
  };
}
