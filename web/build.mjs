// Bundle the console: a small first script (the shell and the overview) that loads each
// other page's code when it is first opened, and one style sheet. No network at run time.
// Usage: node build.mjs OUTDIR   (prints each file's size, raw and gzipped)
import * as esbuild from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

const out = process.argv[2] || 'dist';
fs.mkdirSync(out, { recursive: true });
for (const f of fs.readdirSync(out)) if (/\.(js|css|html)$/.test(f)) fs.rmSync(path.join(out, f));
const common = { bundle: true, minify: true, legalComments: 'eof', logLevel: 'warning' };
await esbuild.build({
  ...common,
  entryPoints: { app: 'src/main.js' },
  outdir: out,
  format: 'esm',
  splitting: true,
  chunkNames: 'chunk-[hash]',
  target: 'es2020',
});
await esbuild.build({
  ...common,
  entryPoints: ['src/style.css'],
  outfile: path.join(out, 'app.css'),
  loader: { '.png': 'dataurl', '.svg': 'dataurl' },
});
fs.copyFileSync('index.html', path.join(out, 'index.html'));
let raw = 0, gz = 0, first = 0;
for (const f of fs.readdirSync(out).filter((x) => /\.(js|css|html)$/.test(x)).sort()) {
  const b = fs.readFileSync(path.join(out, f));
  const z = zlib.gzipSync(b, { level: 9 }).length;
  raw += b.length; gz += z;
  if (f === 'app.js' || f === 'app.css' || f === 'index.html') first += z;
  console.log(`console: ${f} ${(b.length / 1024).toFixed(1)} KiB, ${(z / 1024).toFixed(1)} KiB gzipped`);
}
console.log(`console: total ${(raw / 1024).toFixed(1)} KiB, ${(gz / 1024).toFixed(1)} KiB gzipped; first page ${(first / 1024).toFixed(1)} KiB gzipped (+ its imports)`);
