/**
 * A small static server on 127.0.0.1 for browser pages: in-memory files (bundles, HTML) and
 * whitelisted folders on disk (.wasm files from node_modules or the package). Every response
 * carries COOP `same-origin` and COEP `require-corp`, so pages are cross-origin isolated and
 * may use SharedArrayBuffer, i.e. WebAssembly threads. Used by `npm run bench:browser` and the
 * browser tests.
 */
import { createServer, type Server } from 'node:http';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm', '.json': 'application/json', '.map': 'application/json',
};

export interface StaticServer {
  url: string;
  server: Server;
  /** Paths requested so far (the bench reports which .wasm build a peer fetched). */
  requests: string[];
  close(): Promise<void>;
}

/**
 * Serves `files` (URL path → content) and, under each `mounts` prefix (e.g. '/node_modules/'),
 * the files of its folder; nothing above a mounted folder is reachable.
 */
export async function startStaticServer(options: { files: Map<string, string | Uint8Array>; mounts?: Record<string, string> }): Promise<StaticServer> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://127.0.0.1').pathname);
    requests.push(path);
    const send = (status: number, body: string | Uint8Array, type = 'text/plain; charset=utf-8'): void => {
      res.writeHead(status, {
        'content-type': type, 'cache-control': 'no-store',
        'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp', 'cross-origin-resource-policy': 'same-origin',
      });
      res.end(body);
    };
    if (path === '/favicon.ico') return send(204, '');   // browsers ask for one; a 404 would be a console error
    const mem = options.files.get(path);
    if (mem !== undefined) return send(200, mem, TYPES[extname(path)] ?? 'application/octet-stream');
    for (const [prefix, dir] of Object.entries(options.mounts ?? {})) {
      if (!path.startsWith(prefix)) continue;
      const file = normalize(join(dir, path.slice(prefix.length)));
      if (!file.startsWith(normalize(dir) + sep)) return send(403, 'outside the mounted folder');
      readFile(file).then((body) => send(200, body, TYPES[extname(file)] ?? 'application/octet-stream'), () => send(404, 'not found'));
      return;
    }
    send(404, 'not found');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/`, server, requests,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

/** An HTML page that runs one module script. */
export const modulePage = (script: string): string =>
  `<!doctype html><html><head><meta charset="utf-8"><title>attnkit</title></head><body><script type="module" src="${script}"></script></body></html>`;

/** Chromium's flags for a headless run on a closed network (the viewer test's, plus the new headless mode). */
export const CHROMIUM_ARGS = [
  '--no-sandbox', '--headless=new', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync',
];
