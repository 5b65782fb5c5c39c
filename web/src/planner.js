// Planners: forecasts with their band, scenarios as jobs, comparisons, accept, transfers.
import { api, get, post } from './api.js';
import { h, clear, table, money, num, pct, when, badge, notice, errorText, field, download, confirmDialog } from './ui.js';
import { forecastChart, barChart } from './charts.js';

const enc = encodeURIComponent;
let nodesCache = null;
export async function nodes() {
  if (!nodesCache) nodesCache = (await get('/v1/nodes')).items;
  return nodesCache;
}

// ---- forecasts ----

export async function forecastsPage(main, args) {
  const ns = await nodes();
  const nodeSel = h('select', {}, ns.map((n) => h('option', { value: n.id }, `${n.id} · ${n.name}`)));
  const skuIn = h('input', { type: 'search', list: 'sku-list', placeholder: 'SKU-00001', autocomplete: 'off' });
  const skuList = h('datalist', { id: 'sku-list' });
  const horizon = h('input', { type: 'number', min: 1, max: 365, value: 28 });
  const out = h('div', { class: 'forecast' });
  const msg = h('div', {});
  let chart = null;
  nodeSel.value = args[0] || ns[0].id;
  skuIn.value = args[1] || 'SKU-00001';

  async function skus() { // the SKUs held at the node, for the search box
    try {
      const inv = await get(`/v1/inventory?node=${enc(nodeSel.value)}&limit=1000`);
      clear(skuList, inv.items.map((r) => h('option', { value: r.sku })));
    } catch (e) { /* the search still takes any SKU typed */ }
  }
  async function show(ev) {
    if (ev) ev.preventDefault();
    notice(msg, 'Forecasting…');
    try {
      const f = await get(`/v1/forecasts?node=${enc(nodeSel.value)}&sku=${enc(skuIn.value.trim())}&horizon=${enc(horizon.value)}`);
      notice(msg, '');
      if (chart) chart.destroy();
      const box = h('div', { class: 'chart', role: 'img', 'aria-label': `History and forecast of ${f.sku} at ${f.node}` });
      const mase = f.backtest && f.backtest.mase !== null ? num(f.backtest.mase, 3) : 'n/a (short history)';
      clear(out,
        h('div', { class: 'tiles' },
          h('div', { class: 'tile' }, h('span', { class: 'label' }, 'Method'), h('strong', { class: 'value' }, f.method), h('small', {}, f.model)),
          h('div', { class: 'tile' }, h('span', { class: 'label' }, `Hold-out MASE (last ${f.backtest.holdout} days)`), h('strong', { class: 'value' }, mase), h('small', {}, 'below 1 beats the naive forecast')),
          h('div', { class: 'tile' }, h('span', { class: 'label' }, `Total over ${f.horizon} days`), h('strong', { class: 'value' }, num(f.total.mean, 1)),
            h('small', {}, `${Math.round(f.level * 100)} % interval ${num(f.total.lo, 1)} – ${num(f.total.hi, 1)}`)),
          h('div', { class: 'tile' }, h('span', { class: 'label' }, 'History'), h('strong', { class: 'value' }, `${num(f.history.days)} days`), h('small', {}, `${f.history.first} → ${f.history.last}`))),
        box,
        h('details', {}, h('summary', {}, 'Forecast points'), table([['Date', (p) => p.date], ['Mean', (p) => num(p.mean, 2)], ['Low', (p) => num(p.lo, 2)], ['High', (p) => num(p.hi, 2)],
          ['Calendar', (p) => ['closed', 'holiday', 'payday'].filter((k) => p[k]).join(', ')]], f.points)));
      chart = forecastChart(box, f.actuals || [], f.points, `${f.sku} at ${f.node}`);
      history.replaceState(null, '', `#/forecasts/${enc(f.node)}/${enc(f.sku)}`);
    } catch (e) { notice(msg, errorText(e), 'error'); }
  }
  nodeSel.addEventListener('change', skus);
  clear(main, h('h1', {}, 'Forecasts'),
    h('form', { class: 'inline', onsubmit: show }, field('Node', nodeSel), field('SKU', skuIn), skuList, field('Horizon (days)', horizon),
      h('button', { type: 'submit', class: 'primary' }, 'Show forecast')), msg, out);
  skus();
  await show();
  return () => chart && chart.destroy();
}

// ---- scenarios ----

function costTable(s) {
  return table([['', (r) => r[0]], ['', (r) => r[1]]], [
    ['Total', money(s.cost.total)], ['Transfer', money(s.cost.transfer)], ['Fixed (lanes)', money(s.cost.fixed)],
    ['Shortage', money(s.cost.shortage)], ['Fill before → after', `${pct(s.fill_rate.before)} → ${pct(s.fill_rate.after)}`],
    ['Units moved', num(s.units_moved)], ['Transfer lines', num(s.transfers_total)],
    ['Solver', `${s.solver.status}, gap ${pct(s.solver.gap)}, ${num(s.solver.time_ms)} ms`]], { class: 'grid kv' });
}

function fillChart(el, s, charts) {
  const by = s.fill_rate.by_region || {};
  const regions = Object.keys(by).sort();
  if (!regions.length) return;
  charts.push(barChart(el, regions, [
    { label: 'fill before', values: regions.map((r) => by[r].before), color: '#9aa5b1' },
    { label: 'fill after', values: regions.map((r) => by[r].after), color: '#2f6fde' }], 'Fill rate by region'));
}

async function csvOf(id) {
  const r = await api('GET', `/v1/rebalancing/scenarios/${enc(id)}`, { headers: { Accept: 'text/csv' } });
  download(`scenario-${id}.csv`, r.body);
}

function scenarioForm(onQueued, regions, ns) {
  const name = h('input', { type: 'text', value: 'pre-peak', maxlength: 64 });
  const hz = h('input', { type: 'number', min: 1, max: 90, value: 14 });
  const pen = h('input', { type: 'number', min: 0, step: 'any', value: 25 });
  const minT = h('input', { type: 'number', min: 0, value: 0 });
  const mults = regions.map((r) => ({ r, input: h('input', { type: 'number', min: 0, step: 0.05, value: 1, 'aria-label': `Demand multiplier for ${r}` }) }));
  const closed = h('select', { multiple: true, size: 5 }, ns.map((n) => h('option', { value: n.id }, n.id)));
  const msg = h('div', {});
  const form = h('form', { class: 'card scenario-form', onsubmit: async (ev) => {
    ev.preventDefault();
    const body = { name: name.value, horizon_days: Number(hz.value), shortage_penalty: Number(pen.value), overrides: {} };
    const dm = mults.filter((m) => Number(m.input.value) !== 1).map((m) => ({ region: m.r, factor: Number(m.input.value) }));
    if (dm.length) body.overrides.demand_multiplier = dm;
    const cn = [...closed.selectedOptions].map((o) => o.value);
    if (cn.length) body.overrides.closed_nodes = cn;
    if (Number(minT.value) > 0) body.min_transfer_units = Number(minT.value);
    try {
      const r = await post('/v1/rebalancing/scenarios', body, { headers: { Prefer: 'respond-async' } });
      notice(msg, '');
      onQueued(r.body.scenario_id);
    } catch (e) { notice(msg, errorText(e), 'error'); }
  } },
  h('h2', {}, 'New scenario'),
  h('div', { class: 'inline' }, field('Name', name), field('Horizon (days)', hz), field('Shortage penalty per unit', pen), field('Minimum transfer (units)', minT)),
  h('fieldset', {}, h('legend', {}, 'Demand multiplier by region'), h('div', { class: 'inline' }, mults.map((m) => field(m.r, m.input)))),
  field('Closed nodes (none sell or ship)', closed, 'Ctrl-click to choose several'),
  h('button', { type: 'submit', class: 'primary' }, 'Run scenario'), msg);
  return form;
}

export async function scenariosPage(main, args) {
  if (args[0] === 'compare') return compareView(main, args[1], args[2]);
  if (args[0]) return scenarioView(main, args[0]);
  const ns = await nodes();
  const regions = [...new Set(ns.map((n) => n.region))].sort();
  const listBox = h('div', {});
  const chosen = new Set();
  const compareBtn = h('button', { type: 'button', disabled: true, onclick: () => { const [a, b] = [...chosen]; location.hash = `#/scenarios/compare/${a}/${b}`; } }, 'Compare the two chosen');
  async function refresh() {
    const l = await get('/v1/rebalancing/scenarios?limit=50');
    clear(listBox, table([
      ['', (s) => h('input', { type: 'checkbox', 'aria-label': 'compare ' + s.scenario_id, disabled: s.status !== 'done', checked: chosen.has(s.scenario_id), onchange: (ev) => {
        if (ev.target.checked) chosen.add(s.scenario_id); else chosen.delete(s.scenario_id);
        compareBtn.disabled = chosen.size !== 2;
      } })],
      ['Scenario', (s) => h('a', { href: '#/scenarios/' + s.scenario_id }, s.name || s.scenario_id)],
      ['Status', (s) => badge(s.status)], ['Created', (s) => when(s.created_at)],
      ['Total cost', (s) => (s.cost ? money(s.cost.total) : '–')],
      ['Fill after', (s) => (s.fill_rate ? pct(s.fill_rate.after) : '–')], ['Accepted', (s) => (s.accepted ? 'yes' : '')]],
    l.scenarios, { caption: 'Scenarios, newest first', empty: 'no scenarios yet' }), compareBtn);
  }
  clear(main, h('h1', {}, 'Scenarios'), scenarioForm((id) => { location.hash = '#/scenarios/' + id; }, regions, await nodes()), h('h2', {}, 'All scenarios'), listBox);
  await refresh();
}

async function scenarioView(main, id) {
  const head = h('div', {});
  const body = h('div', {});
  const msg = h('div', {});
  const charts = [];
  let timer = null;
  clear(main, h('p', {}, h('a', { href: '#/scenarios' }, '← all scenarios')), head, msg, body);
  async function poll() {
    let s;
    try { s = await get(`/v1/rebalancing/scenarios/${enc(id)}?lines_limit=50`); } catch (e) { notice(msg, errorText(e), 'error'); return; }
    clear(head, h('h1', {}, `Scenario ${s.name || ''} `, badge(s.status)), h('p', { class: 'muted' }, id));
    if (s.status === 'queued' || s.status === 'running') {
      const p = s.progress || {};
      const frac = p.fraction || 0;
      clear(body, h('div', { class: 'progress-box' },
        h('p', {}, s.status === 'queued' ? `Queued${p.position ? ', place ' + p.position : ''}${p.waiting_for ? ' · waiting for ' + p.waiting_for : ''}` : `Running: ${p.phase || ''}`,
          p.series_total ? ` · ${num(p.series_done)} of ${num(p.series_total)} series` : ''),
        h('progress', { max: 1, value: frac, 'aria-label': 'Scenario progress' }, pct(frac)), ' ', pct(frac),
        h('div', {}, h('button', { type: 'button', onclick: async () => { await api('DELETE', `/v1/rebalancing/scenarios/${enc(id)}`); poll(); } }, 'Cancel'))));
      timer = setTimeout(poll, 500);
      return;
    }
    if (s.status !== 'done') { clear(body, h('p', {}, s.reason || 'This scenario has no result.')); return; }
    const fill = h('div', { class: 'chart' });
    clear(body,
      h('div', { class: 'toolbar' },
        h('button', { type: 'button', class: 'primary', disabled: !!s.accepted, onclick: () => accept(s) }, s.accepted ? 'Accepted' : 'Accept: create transfer orders'),
        h('button', { type: 'button', onclick: () => csvOf(id).catch((e) => notice(msg, errorText(e), 'error')) }, 'Download CSV'),
        h('button', { type: 'button', onclick: rerun }, 'Rerun on today\'s stock')),
      h('div', { class: 'two' }, costTable(s), fill),
      table([['From', (l) => l.from], ['To', (l) => l.to], ['Units', (l) => num(l.units)], ['Lines', (l) => num(l.lines)],
        ['Transfer cost', (l) => money(l.transfer_cost)], ['Fixed cost', (l) => money(l.fixed_cost)]], s.lanes || [], { caption: 'Transfers by lane' }),
      table([['From', (t) => t.from], ['To', (t) => t.to], ['SKU', (t) => t.sku], ['Units', (t) => num(t.qty)], ['Cost', (t) => money(t.cost)]],
        s.largest_transfers || [], { caption: 'Largest transfers' }));
    fillChart(fill, s, charts);
  }
  async function rerun() {
    try {
      const r = await post(`/v1/rebalancing/scenarios/${enc(id)}/rerun`, {}, { headers: { Prefer: 'respond-async' } });
      location.hash = '#/scenarios/' + r.body.scenario_id;
    } catch (e) { notice(msg, errorText(e), 'error'); }
  }
  async function accept(s) {
    const ok = await confirmDialog(`Accept ${s.name || id}?`, h('p', {}, `This creates ${num(s.transfers_total)} planned transfer orders and commits their ${num(s.units_moved)} units at the sources.`), 'Accept');
    if (!ok) return;
    try {
      const r = await post(`/v1/rebalancing/scenarios/${enc(id)}/accept`, {});
      notice(msg, `Accepted: ${num(r.body.transfers_created ?? r.body.transfers ?? 0)} transfer orders planned.`, 'ok');
      poll();
    } catch (e) {
      if (e.status === 409) {
        clear(msg, h('div', { class: 'notice error', role: 'alert' },
          h('p', {}, h('strong', {}, 'The stock moved since this scenario was computed.'),
            ' Accepting it now could move units that are no longer there, so nothing was accepted. Rerun it on today\'s stock, then accept the new result.'),
          h('p', { class: 'muted' }, 'What moved: ', e.message.replace(/: rerun it \(POST [^)]*\)/, '')),
          h('button', { type: 'button', class: 'primary', onclick: rerun }, 'Rerun now')));
      } else notice(msg, errorText(e), 'error');
    }
  }
  await poll();
  return () => { clearTimeout(timer); charts.forEach((c) => c.destroy()); };
}

async function compareView(main, a, b) {
  const charts = [];
  const c = await get(`/v1/rebalancing/scenarios?compare=${enc(a)},${enc(b)}`);
  const ss = await Promise.all([a, b].map((id) => get(`/v1/rebalancing/scenarios/${enc(id)}?lines_limit=1`)));
  const [na, nb] = ss.map((s) => s.name || s.scenario_id);
  const fmt = (k, v) => (k.startsWith('fill') ? pct(v) : k.startsWith('cost') ? money(v) : num(v));
  const rows = Object.entries(c.compare || {}).map(([k, v]) => ({ k, ...v }));
  const regions = Object.keys(c.fill_rate_by_region || {}).sort();
  const regionBox = h('div', { class: 'chart' });
  const cols = ss.map((s) => {
    const fill = h('div', { class: 'chart' });
    setTimeout(() => fillChart(fill, s, charts));
    return h('section', { class: 'card' }, h('h2', {}, h('a', { href: '#/scenarios/' + s.scenario_id }, s.name || s.scenario_id)), costTable(s), fill);
  });
  clear(main, h('p', {}, h('a', { href: '#/scenarios' }, '← all scenarios')), h('h1', {}, 'Two scenarios side by side'),
    table([['', (r) => r.k.replace(/_/g, ' ')], [na, (r) => fmt(r.k, r.a)], [nb, (r) => fmt(r.k, r.b)],
      ['Δ (right − left)', (r) => (r.delta > 0 ? '+' : '') + fmt(r.k, r.delta)]], rows, { caption: 'Differences' }),
    regionBox, h('div', { class: 'two' }, cols));
  if (regions.length) charts.push(barChart(regionBox, regions, [
    { label: na + ': fill after', values: regions.map((r) => c.fill_rate_by_region[r].a), color: '#9aa5b1' },
    { label: nb + ': fill after', values: regions.map((r) => c.fill_rate_by_region[r].b), color: '#2f6fde' }], 'Fill rate after, by region'));
  return () => charts.forEach((x) => x.destroy());
}

// ---- transfer orders ----

export async function transfersPage(main) {
  const status = h('select', {}, ['', 'planned', 'shipped', 'received', 'cancelled'].map((s) => h('option', { value: s }, s || 'any status')));
  const node = h('input', { type: 'text', placeholder: 'any node' });
  const out = h('div', {});
  const msg = h('div', {});
  let rows = [];
  async function load(ev) {
    if (ev) ev.preventDefault();
    try {
      const q = new URLSearchParams({ limit: '1000' });
      if (status.value) q.set('status', status.value);
      if (node.value.trim()) q.set('node', node.value.trim());
      rows = (await get('/v1/transfers?' + q)).transfers;
      const lanes = new Map();
      for (const t of rows) {
        const k = t.from + ' → ' + t.to;
        const l = lanes.get(k) || { lane: k, orders: 0, units: 0 };
        l.orders++; l.units += t.qty; lanes.set(k, l);
      }
      notice(msg, '');
      clear(out,
        table([['Lane', (l) => l.lane], ['Orders', (l) => num(l.orders)], ['Units', (l) => num(l.units)]],
          [...lanes.values()].sort((x, y) => y.units - x.units), { caption: 'By lane', empty: 'no transfer orders' }),
        table([['Transfer', (t) => t.transfer_id], ['From', (t) => t.from], ['To', (t) => t.to], ['SKU', (t) => t.sku], ['Units', (t) => num(t.qty)],
          ['Status', (t) => badge(t.status)], ['Scenario', (t) => h('a', { href: '#/scenarios/' + t.scenario_id }, t.scenario_id)]], rows.slice(0, 300),
        { caption: rows.length > 300 ? `Transfer orders (first 300 of ${rows.length}; the CSV has all)` : 'Transfer orders' }));
    } catch (e) { notice(msg, errorText(e), 'error'); }
  }
  const csv = () => download('transfers.csv', 'transfer_id,from,to,sku,qty,status,scenario_id\n' +
    rows.map((t) => [t.transfer_id, t.from, t.to, t.sku, t.qty, t.status, t.scenario_id].join(',')).join('\n') + '\n');
  clear(main, h('h1', {}, 'Transfer orders'),
    h('form', { class: 'inline', onsubmit: load }, field('Status', status), field('Node', node), h('button', { type: 'submit', class: 'primary' }, 'Show'),
      h('button', { type: 'button', onclick: csv }, 'Download CSV')), msg, out);
  await load();
}
