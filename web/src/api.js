// The console's only door out: fulcrum's own /v1 API, with the token pasted once.
const KEY = 'fulcrum.token';

export const session = {
  token: () => sessionStorage.getItem(KEY),
  role: () => sessionStorage.getItem(KEY + '.role'),
  set(token, role) {
    sessionStorage.setItem(KEY, token);
    sessionStorage.setItem(KEY + '.role', role);
  },
  clear() {
    sessionStorage.removeItem(KEY);
    sessionStorage.removeItem(KEY + '.role');
  },
};

export class ApiError extends Error {
  constructor(status, body) {
    const detail = body && typeof body === 'object' ? body.detail || body.title : body;
    super(detail || `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

let onUnauthorized = () => {};
export function whenUnauthorized(fn) { onUnauthorized = fn; }

// api(method, path, {json, text, headers, token}) → {status, body, headers}; throws ApiError
export async function api(method, path, opts = {}) {
  const headers = { ...(opts.headers || {}) };
  const token = opts.token || session.token();
  if (token) headers.Authorization = 'Bearer ' + token;
  let body;
  if (opts.json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(opts.json);
  } else if (opts.text !== undefined) {
    headers['Content-Type'] = 'text/x-lua';
    body = opts.text;
  }
  const r = await fetch(path, { method, headers, body });
  const ct = r.headers.get('Content-Type') || '';
  const data = ct.includes('json') ? await r.json() : await r.text();
  if (r.status === 401 && !opts.token) onUnauthorized();
  if (!r.ok) throw new ApiError(r.status, data);
  return { status: r.status, body: data, headers: r.headers };
}

export const get = (path, opts) => api('GET', path, opts).then((r) => r.body);
export const post = (path, json, opts = {}) => api('POST', path, { ...opts, json });

// /metrics (Prometheus text) → [{name, labels, value}]
export async function metrics() {
  const r = await fetch('/metrics');
  const text = await r.text();
  const out = [];
  for (const line of text.split('\n')) {
    if (!line || line[0] === '#') continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!m) continue;
    const labels = {};
    for (const kv of (m[3] || '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[kv[1]] = kv[2];
    out.push({ name: m[1], labels, value: Number(m[4]) });
  }
  return out;
}
