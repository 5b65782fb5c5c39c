// A webhook receiver for the end-to-end tests, on 127.0.0.1 (a free port, printed first).
// Each request is one JSON line in LOG ({n, path, headers, status}) and its raw body in
// DIR/<n>.body, so a test checks signatures with tools of its own (openssl).
// Paths: /ok 200; /flaky/* 500 for an event's first three attempts, then 200; /down/* 503
// until GET /up, then 200; /redirect 302 to /ok (a redirect must not be followed);
// /slow holds the request 20 s; /alternate/* 500 on each event's first attempt, then 200.
"use strict";
const http = require("http"), fs = require("fs"), path = require("path");
const [log, dir] = process.argv.slice(2);
const seen = new Map();
let n = 0, up = false;
http.createServer((req, res) => {
	const chunks = [];
	req.on("data", (c) => chunks.push(c));
	req.on("end", () => {
		if (req.url === "/up") { up = true; res.end("up"); return; }
		const body = Buffer.concat(chunks), id = req.headers["fulcrum-event-id"] || "";
		const tries = (seen.get(req.url + id) || 0) + 1;
		seen.set(req.url + id, tries);
		let status = 200;
		if (req.url.startsWith("/flaky")) status = tries <= 3 ? 500 : 200;
		else if (req.url.startsWith("/down")) status = up ? 200 : 503;
		else if (req.url.startsWith("/alternate")) status = tries === 1 ? 500 : 200;
		else if (req.url === "/redirect") status = 302;
		n++;
		fs.writeFileSync(path.join(dir, n + ".body"), body);
		fs.appendFileSync(log, JSON.stringify({n, path: req.url, headers: req.headers, status, tries}) + "\n");
		const reply = () => {
			if (status === 302) res.writeHead(302, {Location: "/ok"});
			else res.writeHead(status);
			res.end();
		};
		if (req.url === "/slow") setTimeout(reply, 20000); else reply();
	});
}).listen(0, "127.0.0.1", function () { console.log(this.address().port); });
