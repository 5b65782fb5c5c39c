// Overview: how the service is doing now, from /metrics and the API, refreshed live.
import { get, metrics } from './api.js';
import { h, clear, num, pct, when, errorText } from './ui.js';
import { liveChart } from './charts.js';

const sum = (ms, name, pred = () => true) => ms.filter((m) => m.name === name && pred(m.labels)).reduce((a, m) => a + m.value, 0);

// p99 of a route from the duration histogram's cumulative buckets
function p99(ms, route) {
  const b = ms.filter((m) => m.name === 'fulcrum_http_request_duration_seconds_bucket' && m.labels.route === route && m.labels.method === 'POST');
  const byLe = new Map();
  for (const m of b) byLe.set(m.labels.le, (byLe.get(m.labels.le) || 0) + m.value);
  const les = [...byLe.keys()].sort((x, y) => (x === '+Inf' ? 1 : y === '+Inf' ? -1 : x - y));
  const total = byLe.get('+Inf') || 0;
  if (!total) return null;
  for (const le of les) if (byLe.get(le) >= 0.99 * total) return le === '+Inf' ? Infinity : Number(le);
  return null;
}

export async function overviewPage(main, _args, role) {
  const tiles = h('div', { class: 'tiles', 'aria-live': 'polite' });
  const chartBox = h('div', { class: 'chart' });
  const status = h('p', { class: 'muted' });
  clear(main, h('h1', {}, 'Overview'), status, tiles, h('h2', {}, 'Decisions per second'), chartBox);
  const chart = liveChart(chartBox, 'decisions/s');
  let last = null;
  const tile = (label, value, note) => h('div', { class: 'tile' }, h('span', { class: 'label' }, label),
    h('strong', { class: 'value' }, value), note ? h('small', {}, note) : null);

  async function refresh() {
    try {
      const ms = await metrics();
      const t = Date.now() / 1000;
      const decisions = sum(ms, 'fulcrum_decisions_total');
      const rate = last ? Math.max(0, (decisions - last.decisions) / (t - last.t)) : 0;
      last = { t, decisions };
      chart.append(t, rate);
      const p = p99(ms, '/v1/fulfillment/decisions');
      const asked = sum(ms, 'fulcrum_units_requested_total');
      const filled = sum(ms, 'fulcrum_units_filled_total');
      const shipments = sum(ms, 'fulcrum_decision_shipments_total');
      const cards = [
        tile('Decisions per second', num(rate, 1), `${num(decisions)} since start`),
        tile('Decision p99', p === null ? '–' : p === Infinity ? '> 10 s' : `≤ ${num(p * 1000, 1)} ms`, 'POST /v1/fulfillment/decisions'),
        tile('Fill rate', asked ? pct(filled / asked) : '–', `${num(filled)} of ${num(asked)} units`),
        tile('Shipments per order', decisions ? num(shipments / decisions, 2) : '–'),
        tile('Rule failures', num(sum(ms, 'fulcrum_rule_failures_total')), 'since start'),
        tile('Webhook backlog', num(sum(ms, 'fulcrum_webhook_pending')), `${num(sum(ms, 'fulcrum_webhook_dead'))} dead`),
      ];
      if (role !== 'analyst') {
        const [fs, ob] = await Promise.all([get('/v1/forecasts/status'), get('/v1/outbox?limit=500')]);
        const n = ob.items.length;
        cards.push(tile('Outbox backlog', n >= 500 ? '500+' : num(n), 'messages not acknowledged'));
        const prog = fs.progress && fs.progress.series_total ? ` ${num(fs.progress.series_done)} / ${num(fs.progress.series_total)}` : "";
        cards.push(tile('Forecast batch', fs.state + prog, fs.finished_at ? `${num(fs.series)} series, ${num(fs.seconds, 1)} s, ${when(fs.finished_at)}` : ''));
      }
      clear(tiles, cards);
      status.textContent = 'Live: refreshed every 2 s.';
    } catch (e) {
      status.textContent = 'Could not refresh: ' + errorText(e);
    }
  }
  await refresh();
  const timer = setInterval(refresh, 2000);
  return () => { clearInterval(timer); chart.destroy(); };
}
