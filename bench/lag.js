// Webhook lag at a steady decision rate: subscribe a local receiver to decision.created,
// post decisions at RATE a second for SECS seconds (keep-alive, 16 sockets), and time each
// event from the decision's answer to its arrival. Prints the rate reached and the lag's
// p50, p99 and max. Usage: node bench/lag.js URL ADMIN_TOKEN ORCH_TOKEN RATE SECS
"use strict";
const http = require("http");
const [url, admin, orch, rate, secs] = process.argv.slice(2);
const u = new URL(url), agent = new http.Agent({keepAlive: true, maxSockets: 16});
const answered = new Map(), arrived = new Map();
function call(method, path, token, body) {
	return new Promise((ok, no) => {
		const data = JSON.stringify(body);
		const q = http.request({host: u.hostname, port: u.port, path, method, agent,
			headers: {"Authorization": "Bearer " + token, "Content-Type": "application/json",
				"Content-Length": Buffer.byteLength(data)}}, (r) => {
			let s = ""; r.on("data", (c) => s += c); r.on("end", () => ok([r.statusCode, s]));
		});
		q.on("error", no);
		q.end(data);
	});
}
const sink = http.createServer((q, s) => {
	let b = ""; q.on("data", (c) => b += c);
	q.on("end", () => { try { arrived.set(JSON.parse(b).order_id, performance.now()); } catch (e) {} s.writeHead(204); s.end(); });
});
sink.listen(0, "127.0.0.1", async () => {
	const [st, hook] = await call("POST", "/v1/webhooks", admin,
		{url: "http://127.0.0.1:" + sink.address().port + "/", topics: ["decision.created"]});
	if (st !== 201) { console.log("subscribe failed: " + st + " " + hook); process.exit(1); }
	const total = rate * secs, t0 = performance.now();
	let sent = 0, done = 0;
	await new Promise((finish) => {
		const tick = setInterval(() => {
			const due = Math.min(total, Math.floor((performance.now() - t0) / 1000 * rate));
			for (; sent < due; sent++) {
				const id = "LAG-" + sent;
				call("POST", "/v1/fulfillment/decisions", orch, {order_id: id,
					destination: {lat: 30 + (sent % 15), lon: -120 + (sent % 45)},
					lines: [{sku: "SKU-" + String(1 + sent % 2000).padStart(5, "0"), qty: 1}]})
					.then(() => { answered.set(id, performance.now()); if (++done === total) finish(); });
			}
			if (sent >= total) clearInterval(tick);
		}, 5);
	});
	const elapsed = (performance.now() - t0) / 1000;
	const until = performance.now() + 30000;
	while (arrived.size < total && performance.now() < until) await new Promise((r) => setTimeout(r, 50));
	const lags = [...answered].filter(([id]) => arrived.has(id)).map(([id, t]) => arrived.get(id) - t).sort((a, b) => a - b);
	const p = (q) => lags[Math.min(lags.length - 1, Math.floor(q * lags.length))].toFixed(1);
	console.log(`${total} decisions at ${(total / elapsed).toFixed(0)}/s (asked ${rate}/s): ${lags.length} events arrived; lag from answer to arrival p50 ${p(0.5)} ms, p99 ${p(0.99)} ms, max ${lags[lags.length - 1].toFixed(1)} ms`);
	await call("DELETE", "/v1/webhooks/" + JSON.parse(hook).id, admin, {});
	process.exit(0);
});
