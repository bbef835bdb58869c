/**
 * A small HTTP prediction server for an exported fusion model, run by ONNX Runtime.
 *
 * In a clone of the repository (npx attnkit there would look for the package to install):
 *
 *   npm run attnkit -- train examples/configs/penguins.yaml --out runs/penguins
 *   npm run attnkit -- export runs/penguins model.onnx --verify
 *   npm run example:serve -- model.onnx [--port 8080]
 *   curl -s localhost:8080/predict -H 'content-type: application/json' \
 *     -d '{"records": [{"Beak Length (mm)": 39.1, "Island": "Torgersen", "Sex": "MALE"}]}'
 *
 * It binds to 127.0.0.1 only, and answers only requests whose Host header is 127.0.0.1:port or
 * localhost:port (403 otherwise: DNS-rebinding protection, the viewer's rule, allowedHosts.ts).
 * Requests are checked before anything runs: bodies above 1 MiB get 413, other content types
 * 415, bad JSON, unknown fields, wrong value types and values the preprocessing cannot encode
 * (numbers beyond float32 among them) get 400 with the path of the problem. Unknown paths get
 * 404, and other methods 405.
 *
 *   GET  /          what to send: the fields, their kinds, the targets
 *   GET  /health    {"status":"ok"}
 *   POST /predict   one record, or {"records": [...]} (at most 1000) → {"predictions": [...]}
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readFileSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { DataError, data, fusionOnnxInputs, train } from '../src/index.js';
import { sidecarPath, type OnnxSidecar } from '../src/cli/exportRun.js';
import { allowedHosts, hostAllowed } from '../src/cli/allowedHosts.js';
import { DERIVED_OUTPUT } from '../src/models/fusion.onnx.js';

const MAX_BODY = 1 << 20;

/** An error with the HTTP status it maps to. */
class HttpError extends Error {
  constructor(readonly status: number, message: string) { super(message); }
}

export interface PredictionServer { server: Server; url: string; close(): Promise<void> }

/** Loads model.onnx and its model.attnkit.json, and serves predictions on 127.0.0.1:`port` (0 = any free port). */
export async function startPredictionServer(modelPath: string, options: { port?: number } = {}): Promise<PredictionServer> {
  const side = JSON.parse(readFileSync(sidecarPath(modelPath), 'utf8')) as OnnxSidecar;
  if (side.format !== 'attnkit-onnx' || side.version !== 1) throw new Error(`${sidecarPath(modelPath)}: not an attnkit ONNX sidecar (format ${String(side.format)})`);
  const pre = data.Preprocessor.fromState(side.preprocessor);
  const session = await ort.InferenceSession.create(modelPath);
  const describe = {
    model: side.model, run: side.run, exportedAt: side.exportedAt,
    fields: side.fields.map((f) => ({ name: f.name, kind: f.kind, source: f.source })),
    targets: side.targets.map((t) => ({ name: t.name, task: t.task, ...(t.classes ? { classes: t.classes } : {}) })),
    request: 'POST /predict with one record or {"records": [...]}; a field left out is a missing value',
  };

  async function predict(body: unknown): Promise<unknown[]> {
    const records = data.validateRecords(side.fields, body, { where: 'POST /predict', targets: side.targets });
    let dataset: data.EncodedDataset;
    try {
      ({ dataset } = pre.encode(records, { targets: false }));
    } catch (e) {
      throw new HttpError(400, (e as Error).message.replace(/^records:row (\d+)/, (_, n: string) => `POST /predict: records[${Number(n) - 1}]`));
    }
    const rows = Array.from({ length: dataset.size }, (_, i) => i);
    const feeds = Object.fromEntries(Object.entries(fusionOnnxInputs(side, dataset.batch(rows))).map(([k, v]) => [k, new ort.Tensor(v.type, v.data, v.dims)]));
    const out = await session.run(feeds);
    // the graph's user-facing outputs are what `predict` gives: probabilities, or values in target units
    const scores = Object.fromEntries(side.targets.map((t) => [t.name, out[`${t.name}.${DERIVED_OUTPUT[t.task]}`].data as Float32Array]));
    return rows.map((i) => train.predictionRecord(side.targets, scores, i));
  }

  function readBody(req: IncomingMessage): Promise<string> {
    return new Promise((resolve, reject) => {
      let size = 0, tooLarge = false;
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_BODY) tooLarge = true;
        else chunks.push(c);
      });
      req.on('end', () => (tooLarge ? reject(new HttpError(413, `request body exceeds ${MAX_BODY} bytes`)) : resolve(Buffer.concat(chunks).toString('utf8'))));
      req.on('error', reject);
    });
  }

  let hosts = new Set<string>();   // set once listening (port 0 lets the system choose)
  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!hostAllowed(req.headers.host, hosts)) throw new HttpError(403, `this server only answers requests for ${[...hosts].join(' or ')}`);
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const routes: Record<string, string> = { '/': 'GET', '/health': 'GET', '/predict': 'POST' };
    if (!(path in routes)) throw new HttpError(404, `no route ${path} (routes: GET /, GET /health, POST /predict)`);
    const allowed = routes[path];
    if (req.method !== allowed && !(allowed === 'GET' && req.method === 'HEAD')) {
      res.setHeader('allow', allowed === 'GET' ? 'GET, HEAD' : allowed);
      throw new HttpError(405, `${path} takes ${allowed}, got ${req.method}`);
    }
    if (path === '/') return send(res, 200, describe);
    if (path === '/health') return send(res, 200, { status: 'ok' });
    const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    if (type !== 'application/json') throw new HttpError(415, `POST /predict takes application/json, got '${type || 'no content type'}'`);
    const text = await readBody(req);
    let body: unknown;
    try { body = JSON.parse(text); } catch (e) { throw new HttpError(400, `POST /predict: the body is not valid JSON (${(e as Error).message})`); }
    send(res, 200, { predictions: await predict(body) });
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      const status = e instanceof HttpError ? e.status : e instanceof DataError ? 400 : 500;
      // a 5xx says only that it failed; the details go to the server's log
      if (status >= 500) console.error(e);
      send(res, status, { error: { status, message: status >= 500 ? 'internal error' : (e as Error).message } });
    });
  });
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(options.port ?? 8080, '127.0.0.1', resolve); });
  const port = (server.address() as { port: number }).port;
  hosts = allowedHosts('127.0.0.1', port);
  return {
    server, url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => { server.close(() => resolve()); server.closeAllConnections(); void session.release(); }),
  };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body) + '\n';
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

const isMain = process.argv[1] !== undefined && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
if (isMain) {
  const args = process.argv.slice(2);
  const model = args.find((a, i) => !a.startsWith('--') && args[i - 1] !== '--port');
  const portArg = args[args.indexOf('--port') + 1];
  if (!model) {
    console.error('usage: onnxServer <model.onnx> [--port 8080]   (export one with: attnkit export <run> model.onnx)');
    process.exit(2);
  }
  const s = await startPredictionServer(model, { port: args.includes('--port') ? Number(portArg) : 8080 });
  console.log(`serving ${model} on ${s.url}  (GET / describes the request; Ctrl-C stops)`);
}
