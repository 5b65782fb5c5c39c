// slowheads.js PORT MODE: a slowloris against 127.0.0.1:PORT, printing one JSON line.
//   heads N SECS: N connections each send a request head one byte every 300 ms for SECS
//     seconds; prints how many the server closed and when the last one was closed.
//   body SECS: one request whose head is whole at once and whose 10-byte body takes SECS
//     seconds; prints the status line the server answered (or null).
'use strict';
const net = require('net');
const [port, mode, a, b] = process.argv.slice(2);
const t0 = Date.now();

if (mode === 'heads') {
	const n = +a, secs = +b;
	let closed = 0, last = 0, answered = 0;
	const head = 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ' + 'a'.repeat(4096);
	for (let i = 0; i < n; i++) {
		const s = net.connect(+port, '127.0.0.1');
		let k = 0;
		const tick = setInterval(() => {
			if (!s.destroyed && k < head.length) s.write(head[k++]);
		}, 300);
		s.on('data', () => answered++);
		s.on('error', () => {});
		s.on('close', () => {
			clearInterval(tick);
			closed++;
			last = Date.now() - t0;
		});
		setTimeout(() => { clearInterval(tick); s.destroy(); }, secs * 1000);
	}
	setTimeout(() => {
		console.log(JSON.stringify({ closed_by_server: closed, last_ms: last, answered }));
		process.exit(0);
	}, secs * 1000 - 50);
} else if (mode === 'body') {
	const secs = +a;
	const s = net.connect(+port, '127.0.0.1');
	let reply = '';
	s.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 10\r\n\r\n');
	let k = 0;
	const tick = setInterval(() => {
		if (k < 10) s.write('x'), k++;
	}, (secs * 1000) / 10);
	s.on('error', () => {});
	let over = false;
	const done = () => {
		if (over) return;
		over = true;
		clearInterval(tick);
		console.log(JSON.stringify({ status: reply ? reply.split('\r\n')[0] : null, ms: Date.now() - t0 }));
		process.exit(0);
	};
	s.on('data', (d) => {
		reply += d;
		if (reply.includes('\r\n\r\n')) done();
	});
	s.on('close', done);
	setTimeout(done, secs * 1000 + 3000);
}
