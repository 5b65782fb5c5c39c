// Charts through uPlot: time series with an interval band, and grouped bars.
import uPlot from 'uplot';

const css = (name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim() || '#333';

function width(el) { return Math.max(320, Math.min(1100, el.clientWidth || 800)); }

// history + forecast with its lo–hi band; dates as 'YYYY-MM-DD'
export function forecastChart(el, actuals, points, label) {
  const days = [...actuals.map((a) => a.date), ...points.map((p) => p.date)];
  const xs = days.map((d) => Date.parse(d + 'T00:00:00Z') / 1000);
  const na = actuals.length;
  const pad = (n) => Array(n).fill(null);
  const hist = [...actuals.map((a) => a.qty), ...pad(points.length)];
  const mean = [...pad(na - 1), na ? actuals[na - 1].qty : null, ...points.map((p) => p.mean)].slice(0, xs.length);
  const lo = [...pad(na), ...points.map((p) => p.lo)];
  const hi = [...pad(na), ...points.map((p) => p.hi)];
  const opts = {
    title: label, width: width(el), height: 320,
    series: [{},
      { label: 'history', stroke: css('--ink'), width: 1.5 },
      { label: 'forecast', stroke: css('--accent'), width: 2, dash: [6, 4] },
      { label: 'lo', stroke: css('--band-edge'), width: 1 },
      { label: 'hi', stroke: css('--band-edge'), width: 1 }],
    bands: [{ series: [4, 3], fill: css('--band') }],
    axes: [{}, { label: 'units / day' }],
  };
  return new uPlot(opts, [xs, hist, mean, lo, hi], el);
}

// two groups of bars per category (before | after): categories on x, values 0..1
export function barChart(el, categories, groups, title) {
  const xs = categories.map((_, i) => i);
  const opts = {
    title, width: width(el), height: 280,
    scales: { x: { time: false, range: [-0.6, categories.length - 0.4] }, y: { range: [0, 1] } },
    axes: [{ values: (u, ticks) => ticks.map((t) => categories[t] ?? ''), splits: () => xs },
      { size: 56, values: (u, ticks) => ticks.map((t) => Math.round(t * 100) + ' %') }],
    series: [{}, ...groups.slice(0, 2).map((g, k) => ({
      label: g.label, fill: g.color, stroke: g.color,
      paths: uPlot.paths.bars({ size: [0.4, 48], align: k ? 1 : -1, gap: 1 }),
      points: { show: false },
    }))],
  };
  return new uPlot(opts, [xs, ...groups.slice(0, 2).map((g) => g.values)], el);
}

// a live line (the overview): append(t, v) keeps the last `keep` points; x is seconds
// before now (a clock axis over a few points showed a wrong date)
export function liveChart(el, label, keep = 90) {
  const data = [[], []];
  const times = [];
  const u = new uPlot({ width: width(el), height: 160, series: [{ label: 'seconds ago' }, { label, stroke: css('--accent'), width: 2, points: { show: true } }],
    scales: { x: { time: false, range: [-180, 0] }, y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.2)] } },
    axes: [{ label: 'seconds ago', values: (_u, ticks) => ticks.map((t) => String(-t)) }, { size: 56 }], legend: { show: true } }, data, el);
  return {
    append(t, v) {
      times.push(t); data[1].push(v);
      if (times.length > keep) { times.shift(); data[1].shift(); }
      data[0] = times.map((x) => x - t);
      u.setData(data);
    },
    destroy: () => u.destroy(),
  };
}
