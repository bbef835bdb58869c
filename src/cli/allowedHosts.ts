/**
 * DNS-rebinding protection for the local servers (the viewer, the ONNX example server): a page
 * on evil.example can make its own name resolve to 127.0.0.1, but its requests still say
 * `Host: evil.example:port`. So a server answers only requests whose Host names it — the
 * address it was bound to, or `localhost`, with its port — whatever the bind address.
 */
import { networkInterfaces } from 'node:os';

/** How a Host header writes an address: IPv6 in brackets, lower case. */
function hostName(address: string): string {
  const a = address.toLowerCase();
  return a.includes(':') && !a.startsWith('[') ? `[${a}]` : a;
}

/**
 * The Host header values a server bound to `bind` on `port` answers: `bind:port`,
 * `localhost:port` and, if given, the address the socket really has (`server.address()`; e.g.
 * `localhost` binds 127.0.0.1 or ::1). A wildcard bind (0.0.0.0, ::) adds the machine's
 * interface addresses. Port 80 also allows the bare names (browsers leave the default port out).
 *
 * @example
 * const allowed = allowedHosts('127.0.0.1', 7801);     // 127.0.0.1:7801, localhost:7801
 * hostAllowed(req.headers.host, allowed);              // false for 'evil.example:7801'
 */
export function allowedHosts(bind: string, port: number, bound?: string): Set<string> {
  const names = new Set([bind, 'localhost', ...(bound ? [bound] : [])]);
  if (bind === '0.0.0.0' || bind === '::' || bound === '0.0.0.0' || bound === '::') {
    for (const list of Object.values(networkInterfaces())) for (const i of list ?? []) if (bind === '::' || i.family === 'IPv4') names.add(i.address);
  }
  const out = new Set<string>();
  for (const n of names) {
    out.add(`${hostName(n)}:${port}`);
    if (port === 80) out.add(hostName(n));
  }
  return out;
}

/** True when a request's Host header (absent: false) is one of `allowed` (case-insensitive). */
export function hostAllowed(header: string | undefined, allowed: ReadonlySet<string>): boolean {
  return header !== undefined && allowed.has(header.trim().toLowerCase());
}
