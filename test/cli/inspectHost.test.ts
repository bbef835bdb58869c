/**
 * The viewer's server against DNS rebinding and hanging on exit: for every loopback bind
 * (127.0.0.1, 127.0.0.2, ::1, localhost) a request whose Host header names another site gets
 * 403, and one naming the bind address or localhost with the port gets the run's files; a
 * viewer process stops on the first Ctrl-C although a client holds connections open.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startInspectServer } from '../../src/cli/inspect.js';
import { trainCommand } from '../../src/cli/commands.js';
import { httpGet } from '../helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'attnkit-inspect-'));
const run = join(dir, 'run');

const get = (host: string, port: number, path: string, hostHeader: string, agent?: Agent): Promise<{ status: number; body: string }> =>
  httpGet({ host, port, path, headers: { host: hostHeader }, agent });

/** The status of a request written by hand (e.g. HTTP/1.0 without a Host header). */
function rawStatus(host: string, port: number, text: string): Promise<number> {
  return new Promise((resolve, reject) => {
    let head = '';
    const sock = connect(port, host, () => sock.write(text));
    sock.on('data', (c) => { head += c; });
    sock.on('end', () => resolve(Number(/^HTTP\/1\.\d (\d+)/.exec(head)?.[1] ?? 0)));
    sock.on('error', reject);
  });
}

test('setup: a small trained run', async () => {
  const rows = Array.from({ length: 60 }, (_, i) => `${(i % 7) / 3},${['a', 'b'][i % 2]},${i % 3 === 0 ? 1 : 0}`);
  writeFileSync(join(dir, 'd.csv'), `x,k,y\n${rows.join('\n')}\n`);
  writeFileSync(join(dir, 'c.yaml'), `name: inspect-host
data: { path: d.csv }
schema:
  fields: [{ name: x, kind: numeric }, { name: k, kind: categorical }]
  targets: [{ name: y, task: binary }]
model: { type: fusion, dim: 8, heads: 2, layers: 1 }
train: { epochs: 1 }
`);
  assert.equal(await trainCommand(join(dir, 'c.yaml'), { out: run, quiet: true, json: true }), 0);
});

for (const bind of ['127.0.0.1', '127.0.0.2', '::1', 'localhost']) {
  test(`bound to ${bind}: a foreign Host header gets 403, the bind address or localhost with the port gets the report`, async () => {
    const s = await startInspectServer({ dir: run, port: 0, host: bind });
    const { address } = s.server.address() as { address: string };
    try {
      const name = bind.includes(':') ? `[${bind}]` : bind;
      for (const h of ['evil.example', `evil.example:${s.port}`, `${name}:${s.port + 1}`, `${name}.evil.example:${s.port}`, `localhost.evil.example:${s.port}`]) {
        assert.equal((await get(address, s.port, '/runs/0/report.json', h)).status, 403, `Host: '${h}'`);
      }
      assert.equal(await rawStatus(address, s.port, 'GET /runs/0/report.json HTTP/1.0\r\n\r\n'), 403, 'no Host header at all');
      for (const h of [`${name}:${s.port}`, `localhost:${s.port}`, `LOCALHOST:${s.port}`]) {
        const r = await get(address, s.port, '/runs/0/report.json', h);
        assert.equal(r.status, 200, `Host: '${h}'`);
        assert.equal(JSON.parse(r.body).title, 'inspect-host');
      }
      assert.equal(s.url, `http://${name}:${s.port}/`);
    } finally {
      await s.close();
    }
  });
}

test('the viewer process exits on the first Ctrl-C while a client holds connections open', async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'inspect', run, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '', stderr = '';
  child.stderr.on('data', (c) => { stderr += c; });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.on('data', (c) => {
      stdout += c;
      const m = /http:\/\/127\.0\.0\.1:(\d+)\//.exec(stdout);
      if (m) resolve(Number(m[1]));
    });
    void exited.then(() => reject(new Error(`the viewer exited before serving: ${stderr}`)));
  });
  // a keep-alive connection left idle after a request, and one that sent half a request
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  assert.equal((await get('127.0.0.1', port, '/', `127.0.0.1:${port}`, agent)).status, 200);
  const half = connect(port, '127.0.0.1');
  await new Promise<void>((resolve) => half.on('connect', () => { half.write(`GET /runs/0/report.json HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n`); resolve(); }));
  half.on('error', () => {});
  child.kill('SIGINT');
  // a hang guard, not a timing assertion: a viewer that ignores Ctrl-C never exits at all
  let guard: NodeJS.Timeout | undefined;
  const code = await Promise.race([exited, new Promise<string>((resolve) => { guard = setTimeout(() => resolve('still running 10 s after SIGINT'), 10_000); })]);
  clearTimeout(guard);
  if (code === 'still running 10 s after SIGINT') child.kill('SIGKILL');
  agent.destroy();
  half.destroy();
  assert.equal(code, 0, `exit: ${String(code)}; stderr: ${stderr}`);
});
