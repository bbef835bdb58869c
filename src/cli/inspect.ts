/**
 * `attnkit inspect <run> [<run2>]`: a local web server for the live attention viewer. It serves
 * a fixed set of files (viewerFiles.ts: the page, its script, the wasm backend and, per run, its
 * config, preprocessing, best weights, report and test records) and nothing else, only GET/HEAD,
 * and by default only on the loopback interface. Requests whose Host header names neither the
 * bind address nor localhost (with the port) are refused, whatever the bind (DNS-rebinding
 * protection; see allowedHosts.ts). Responses carry COOP/COEP, so the page is cross-origin
 * isolated and the wasm backend runs threaded. Closing it drops idle and keep-alive connections
 * at once and any other after half a second, so Ctrl-C stops it although a browser holds a
 * connection open. `exportViewer` writes the same files to a folder any static host serves.
 */
import { createServer, type Server } from 'node:http';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { allowedHosts, hostAllowed } from './allowedHosts.js';
import { checkOptions } from '../config.js';
import { ConfigError } from '../errors.js';
import { viewerFiles, type ViewerLog } from './viewerFiles.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json', '.wasm': 'application/wasm', '.safetensors': 'application/octet-stream',
};

export interface InspectServer { url: string; port: number; close: () => Promise<void>; server: Server }

/**
 * Serves the viewer for one run (`dir`) or several side by side (`dirs`). The test split's
 * summary is computed first, or read from the run's cache (viewerFiles.ts: viewerData); `log`
 * gets its progress.
 *
 * @example
 * const { url, close } = await startInspectServer({ dirs: ['runs/spam-fusion-…'], port: 0 });
 */
export async function startInspectServer(options: { dir?: string; dirs?: string[]; port?: number; host?: string; log?: ViewerLog }): Promise<InspectServer> {
  checkOptions('startInspectServer', options, { dir: true, dirs: true, port: true, host: true, log: true });
  const dirs = options.dirs ?? (options.dir !== undefined ? [options.dir] : []);
  const files = await viewerFiles(dirs, options.log);
  const host = options.host ?? '127.0.0.1';
  let allowed = new Set<string>();   // set once listening (the port may be chosen by the system)
  const server = createServer((req, res) => {
    const send = (code: number, body: string | Buffer, type = 'text/plain; charset=utf-8'): void => {
      res.writeHead(code, {
        'content-type': type, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff',
        'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp', 'cross-origin-resource-policy': 'same-origin',
      });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'only GET and HEAD');
    if (!hostAllowed(req.headers.host, allowed)) return send(403, `this viewer only answers requests for ${[...allowed].join(' or ')}`);
    let path: string;
    try { path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname); } catch { return send(400, 'bad path'); }
    if (path === '/favicon.ico') return send(204, '');
    const file = files.get(path === '/' ? 'index.html' : path.slice(1));
    if (file === undefined) return send(404, 'not found');
    const type = TYPES[extname(path === '/' ? 'index.html' : path)] ?? 'application/octet-stream';
    return send(200, typeof file === 'string' ? file : readFileSync(file.path), type);
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

/**
 * Puts the complete folder `fresh` at `target` (both in one parent folder). A folder already at
 * `target` is renamed aside (`.<name>.<pid>.<hex>.old`), `fresh` renamed into place, and only then
 * the old one deleted; if `fresh` cannot be renamed into place, the old one is renamed back and the
 * error thrown (deleting `fresh` is the caller's). Between the two renames `target` is briefly
 * absent: a directory cannot be swapped by one rename in Node. `fs` is for tests.
 *
 * @example
 * replaceDir('/srv/.site.1234.ab12cd34.tmp', '/srv/site');
 */
export function replaceDir(fresh: string, target: string, fs: { renameSync: (a: string, b: string) => void; rmSync: (p: string, o: { recursive: true; force: true }) => void } = { renameSync, rmSync }): void {
  if (!existsSync(target)) { fs.renameSync(fresh, target); return; }
  const aside = join(dirname(target), `.${basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.old`);
  fs.renameSync(target, aside);
  try {
    fs.renameSync(fresh, target);
  } catch (e) {
    fs.renameSync(aside, target);
    throw e;
  }
  fs.rmSync(aside, { recursive: true, force: true });
}

/**
 * Writes the viewer for the runs into `out` (created; an existing folder must be empty or a
 * previous export): a self-contained static site that still runs the model in the browser.
 * The files go to a temp folder beside `out`, put in place by `replaceDir` when complete: a
 * previous export is renamed aside, the new folder renamed into place, then the old deleted.
 *
 * @example
 * await exportViewer(['runs/spam-fusion-…'], 'site/');   // then serve site/ with any static host
 */
export async function exportViewer(dirs: string[], out: string, options: { log?: ViewerLog } = {}): Promise<{ dir: string; files: number }> {
  checkOptions('exportViewer', options, { log: true });
  const target = resolve(out);
  if (existsSync(target) && readdirSync(target).length && !existsSync(join(target, 'runs.json'))) {
    throw new ConfigError(`inspect --export: '${out}' exists and holds other files; give a new or empty folder (or a previous export to replace)`);
  }
  const files = await viewerFiles(dirs, options.log);
  mkdirSync(dirname(target), { recursive: true });
  const tmp = join(dirname(target), `.${basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    for (const [path, content] of files) {
      const dest = join(tmp, path);
      mkdirSync(dirname(dest), { recursive: true });
      if (typeof content === 'string') writeFileSync(dest, content);
      else copyFileSync(content.path, dest);
    }
    replaceDir(tmp, target);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  return { dir: target, files: files.size };
}
