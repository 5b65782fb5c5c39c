// rawhttp.js PORT PAYLOAD [WAIT_MS]: send PAYLOAD (\r \n escapes; {{c*N}} for N copies of c)
// to 127.0.0.1:PORT as it is, keep the connection open, and print one JSON line when the
// server closes it or WAIT_MS (default 3000) pass: how long it took, whether the server
// closed, how many answers came, the first answer's status and its body (parsed if JSON).
'use strict';
const net = require('net');
const [port, raw, wait] = process.argv.slice(2);
const payload = raw.replace(/\\r/g, '\r').replace(/\\n/g, '\n')
	.replace(/\{\{(.)\*(\d+)\}\}/g, (_, c, n) => c.repeat(+n));
const t0 = Date.now();
let out = '';
const s = net.connect({ port: +port, host: '127.0.0.1', allowHalfOpen: true }, () => s.write(payload));
function report(closed) {
	const first = out.indexOf('\r\n\r\n');
	const m = /^HTTP\/1\.1 (\d+)/.exec(out);
	const head = first < 0 ? out : out.slice(0, first);
	const len = /^Content-Length: (\d+)/mi.exec(head);
	let body = first < 0 ? null : out.slice(first + 4, len ? first + 4 + +len[1] : undefined);
	try { body = JSON.parse(body); } catch (e) { /* kept as text */ }
	console.log(JSON.stringify({ ms: Date.now() - t0, closed, answers: (out.match(/HTTP\/1\.1 \d\d\d /g) || []).length,
		status: m ? +m[1] : null, head, body }));
	process.exit(0);
}
s.on('data', d => { out += d; });
s.on('end', () => report(true));
s.on('error', () => report(true));
setTimeout(() => report(false), +(wait || 3000));
