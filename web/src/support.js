// Support: why an order went where it went — map, explanation, rules, reservation, timeline.
import L from 'leaflet';
import { feature, mesh } from 'topojson-client';
import states from 'us-atlas/states-10m.json';
import { api, get, post, session } from './api.js';
import { h, clear, table, money, num, when, badge, notice, errorText, field } from './ui.js';
import { nodes } from './planner.js';

const enc = encodeURIComponent;

function shipmentMap(el, d, ns) {
  const byId = new Map(ns.map((n) => [n.id, n]));
  // No tiles: nothing is fetched from elsewhere. The states (US Census Bureau outlines,
  // us-atlas, in the bundle) under the nodes, the destination and the lanes.
  const map = L.map(el, { attributionControl: false, zoomSnap: 0.25 }).setView([39, -96], 4);
  L.geoJSON(feature(states, states.objects.nation), { style: { color: '#9aa5b1', weight: 1, fillColor: '#e9edf2', fillOpacity: 1 }, interactive: false }).addTo(map);
  L.geoJSON(mesh(states, states.objects.states, (a, b) => a !== b), { style: { color: '#c3ccd6', weight: 0.8 }, interactive: false }).addTo(map);
  const used = new Set((d.shipments || []).map((s) => s.node));
  for (const n of ns) {
    if (n.lat === null || n.lon === null) continue;
    L.circleMarker([n.lat, n.lon], { radius: used.has(n.id) ? 8 : 4, color: used.has(n.id) ? '#2f6fde' : '#9aa5b1', weight: 2, fillOpacity: 0.8 })
      .bindTooltip(`${n.id} · ${n.name}`).addTo(map);
  }
  const pts = [];
  const dest = d.destination;
  if (dest) {
    L.circleMarker([dest.lat, dest.lon], { radius: 9, color: '#c2410c', weight: 3, fillOpacity: 0.3 }).bindTooltip('destination').addTo(map);
    pts.push([dest.lat, dest.lon]);
  }
  for (const s of d.shipments || []) {
    const n = byId.get(s.node);
    if (!n) continue;
    pts.push([n.lat, n.lon]);
    if (dest) L.polyline([[n.lat, n.lon], [dest.lat, dest.lon]], { color: '#2f6fde', weight: 3 })
      .bindTooltip(`${s.node}: ${num(s.distance_km, 1)} km, ${s.carrier} ${s.service}, ${s.transit_days} days`).addTo(map);
  }
  if (pts.length) map.fitBounds(L.latLngBounds(pts).pad(0.4), { maxZoom: 7 });
  return map;
}

function timeline(t) {
  const what = (e) => {
    switch (e.kind) {
      case 'decision': return [`decision ${e.id}: ${e.status}, ${money(e.cost)} from ${(e.nodes || []).join(', ') || 'nowhere'}`,
        e.supersedes ? ` (replaces ${e.supersedes})` : '', e.reserved_units ? `, ${e.reserved_units} units reserved` : ''];
      case 'event': return [`event ${e.type} (${e.status})`, e.actions && e.actions.length ? ' → ' + e.actions.join(', ') : ''];
      case 'outbox': return [`outbox message ${e.id}: ${e.kind}`, e.acked ? ', acknowledged' : ', waiting'];
      case 'published': return [`webhook event ${e.topic}`];
      default: return [e.kind];
    }
  };
  return h('ol', { class: 'timeline' }, t.entries.map((e) => h('li', { class: 'tl-' + e.kind }, h('time', {}, when(e.at)), ' ', what(e))));
}

async function showDecision(out, id, msg) {
  const [d, all] = await Promise.all([get(`/v1/fulfillment/decisions/${enc(id)}`), (['admin', 'planner'].includes(session.role()) ? nodes() : Promise.resolve([]))]);
  // every node when the role may list them; else those the decision names (its locations)
  const ns = all.length ? all : Object.entries(d.locations || {}).map(([nid, l]) => ({ id: nid, ...l }));
  const t = await get(`/v1/orders/${enc(d.order_id)}/timeline`).catch(() => ({ entries: [] }));
  const mapBox = h('div', { class: 'map' });
  const ex = d.explanation || {};
  const res = d.reservation || {};
  const canRelease = ['admin', 'orchestrator'].includes(session.role()) && res.status === 'reserved';
  clear(out,
    h('h2', {}, `Decision ${d.decision_id} `, badge(d.status)),
    h('p', {}, `Order ${d.order_id} · total ${money(d.cost.total)} (shipping ${money(d.cost.shipping)}, handling ${money(d.cost.handling)}, pick ${money(d.cost.pick)}, split ${money(d.cost.split_penalty)}) · solver ${d.solver.status} in ${num(d.solver.time_ms, 2)} ms`,
      d.supersedes ? ` · replaces ${d.supersedes}` : '', d.superseded_by ? ` · replaced by ${d.superseded_by}` : ''),
    h('div', { class: 'two' }, h('figure', { class: 'map-figure' }, mapBox, h('figcaption', { class: 'muted' }, 'Blue: the shipping nodes and their lanes; orange: the destination; grey: other nodes.')),
      h('div', {},
        table([['Node', (s) => s.node], ['Carrier', (s) => `${s.carrier} ${s.service}`], ['Distance', (s) => num(s.distance_km, 1) + ' km'],
          ['Days', (s) => s.days_to_deliver], ['Lines', (s) => s.lines.map((l) => `${l.sku}×${l.qty}`).join(', ')], ['Cost', (s) => money(s.cost)]],
        d.shipments, { caption: 'Shipments', empty: 'nothing shipped' }),
        h('p', {}, 'Reservation: ', badge(res.status || 'none'), ` ${num(res.units)} units, updated ${when(res.updated_at)} `,
          canRelease ? h('button', { type: 'button', onclick: async () => {
            try { await post(`/v1/fulfillment/decisions/${enc(d.decision_id)}/release`, {}); showDecision(out, id, msg); } catch (e) { notice(msg, errorText(e), 'error'); }
          } }, 'Release') : null),
        d.unfilled && d.unfilled.length ? table([['SKU', (u) => u.sku], ['Units', (u) => u.qty], ['Why', (u) => u.reason]], d.unfilled, { caption: 'Not filled' }) : null)),
    h('h3', {}, `Why here: ${num(ex.candidates)} candidate nodes`),
    h('div', { class: 'two' },
      table([['Node', (a) => a.node], ['Carrier', (a) => `${a.carrier || ''} ${a.service || ''}`], ['Cost', (a) => money(a.cost)], ['Why not', (a) => a.why_not || '']],
        ex.alternatives || [], { caption: 'Alternatives and why each lost', empty: 'no alternative' }),
      table([['Node', (x) => x.node], ['Reason', (x) => x.reason]], ex.excluded || [], { caption: 'Excluded nodes', empty: 'none excluded' })),
    table([['Set', (r) => `${r.set} v${r.version}`], ['Rule', (r) => r.rule], ['Line', (r) => r.line], ['Effect', (r) => r.effect], ['Reason', (r) => r.reason]],
      d.rules || [], { caption: 'Rules fired', empty: 'no rule fired' }),
    h('h3', {}, 'Timeline of the order'), timeline(t), t.more ? h('p', { class: 'muted' }, 'Older entries are not shown.') : null);
  return shipmentMap(mapBox, d, ns);
}

export async function decisionsPage(main, args) {
  const orderIn = h('input', { type: 'search', placeholder: 'SO-1001', value: args[0] || '', autocomplete: 'off' });
  const list = h('div', {});
  const out = h('div', {});
  const msg = h('div', {});
  let map = null;
  async function find(ev) {
    if (ev) ev.preventDefault();
    const id = orderIn.value.trim();
    if (!id) return;
    try {
      const r = await get(`/v1/fulfillment/decisions?order_id=${enc(id)}`);
      if (!r.decisions.length) { notice(msg, `No decision for order ${id}.`, 'error'); clear(list); clear(out); return; }
      notice(msg, '');
      history.replaceState(null, '', '#/decisions/' + enc(id));
      const open = async (did) => { if (map) map.remove(); map = await showDecision(out, did, msg); };
      clear(list, table([['Decision', (d) => h('button', { type: 'button', class: 'link', onclick: () => open(d.decision_id) }, d.decision_id)],
        ['Status', (d) => badge(d.status)], ['Reservation', (d) => badge((d.reservation || {}).status || 'none')], ['At', (d) => when(d.created_at)],
        ['Replaced by', (d) => d.superseded_by || '']], r.decisions, { caption: `Decisions for ${id}, newest first` }));
      await open(r.decisions[0].decision_id);
    } catch (e) { notice(msg, errorText(e), 'error'); }
  }
  clear(main, h('h1', {}, 'Decisions'),
    h('form', { class: 'inline', role: 'search', onsubmit: find }, field('Order id', orderIn), h('button', { type: 'submit', class: 'primary' }, 'Find')),
    msg, list, out);
  await find();
  return () => map && map.remove();
}

export async function outboxPage(main) {
  const out = h('div', {});
  const msg = h('div', {});
  const canAck = ['admin', 'orchestrator'].includes(session.role());
  async function load() {
    try {
      const r = await get('/v1/outbox?limit=200');
      clear(out, table([['Id', (m) => m.id], ['Kind', (m) => m.kind], ['Order', (m) => (m.payload && m.payload.order_id ? h('a', { href: '#/decisions/' + enc(m.payload.order_id) }, m.payload.order_id) : '')],
        ['Message', (m) => JSON.stringify(m.payload)], ['Queued', (m) => when(m.created_at)],
        ['', (m) => (canAck ? h('button', { type: 'button', onclick: async () => { try { await api('POST', `/v1/outbox/${m.id}/ack`); load(); } catch (e) { notice(msg, errorText(e), 'error'); } } }, 'Acknowledge') : '')]],
      r.items, { caption: 'Messages waiting for delivery', empty: 'the outbox is empty' }));
    } catch (e) { notice(msg, errorText(e), 'error'); }
  }
  clear(main, h('h1', {}, 'Outbox'), h('p', { class: 'muted' }, 'Notifications and discounts the rules asked for, until the system that acts on them acknowledges each.'), msg, out);
  await load();
}
