// Rules: analysts write, check, test, replay, compare, activate and roll back rule sets.
import { EditorView, basicSetup } from 'codemirror';
import { EditorState } from '@codemirror/state';
import { StreamLanguage } from '@codemirror/language';
import { lua } from '@codemirror/legacy-modes/mode/lua';
import { setDiagnostics, lintGutter } from '@codemirror/lint';
import { MergeView } from '@codemirror/merge';
import { marked } from 'marked';
import { api, get, post } from './api.js';
import { h, clear, table, money, num, when, badge, notice, errorText, confirmDialog, field } from './ui.js';

const enc = encodeURIComponent;
let reference = null; // docs/RULES.md, rendered once
// the page's style nonce: the editor's one style element carries it (the CSP allows no other)
const nonceMeta = document.querySelector('meta[name="csp-nonce"]');
const cspNonce = EditorView.cspNonce.of(nonceMeta ? nonceMeta.content : '');

function diagnosticsOf(view, errors) {
  const doc = view.state.doc;
  return (errors || []).map((e) => {
    const n = Math.min(Math.max(1, e.line || 1), doc.lines);
    const line = doc.line(n);
    return { from: line.from, to: Math.max(line.from, line.to), severity: 'error', message: e.message, source: `line ${e.line || '?'}` };
  });
}

function editor(parent, text, readOnly = false) {
  const view = new EditorView({
    parent,
    state: EditorState.create({
      doc: text,
      extensions: [basicSetup, cspNonce, StreamLanguage.define(lua), lintGutter(),
        EditorView.contentAttributes.of({ 'aria-label': 'Lua source of the rule set' }),
        EditorState.readOnly.of(readOnly)],
    }),
  });
  view.scrollDOM.setAttribute('tabindex', '0'); // reachable by keyboard even when read-only
  view.scrollDOM.setAttribute('aria-label', 'Rule set source, scrollable');
  return view;
}

function testsTable(tests) {
  if (!tests) return null;
  const cov = tests.coverage;
  return h('div', { class: 'tests' },
    h('p', {}, badge(`${tests.passed} passed`, 'done'), ' ', tests.failed ? badge(`${tests.failed} failed`, 'failed') : null,
      cov ? ` · coverage: ${cov.fired} of ${cov.rules} rules fired by the tests (${cov.rules ? Math.round((100 * cov.fired) / cov.rules) : 0} %)` : ''),
    cov && cov.rules_fired ? h('p', { class: 'muted' }, 'fired: ' + cov.rules_fired.join(', ')) : null,
    table([['Test', (t) => t.name], ['Line', (t) => t.line], ['Result', (t) => badge(t.passed ? 'passed' : 'failed', t.passed ? 'done' : 'failed')],
      ['Why', (t) => t.message || '']], tests.results || [], { caption: 'Tests' }));
}

function replayTable(r) {
  return h('div', { class: 'replay' },
    h('p', {}, `Replayed ${num(r.replayed)} logged orders with version ${r.version}: `,
      h('strong', {}, `${num(r.changed)} would change`), `, ${num(r.errors)} errors, total cost delta `,
      h('strong', { class: r.cost_delta > 0 ? 'worse' : 'better' }, (r.cost_delta > 0 ? '+' : '') + money(r.cost_delta))),
    table([['Order', (c) => c.order_id], ['Before', (c) => `${c.before.plan} · ${money(c.before.cost)}`],
      ['After', (c) => `${c.after.plan} · ${money(c.after.cost)}`], ['Δ cost', (c) => (c.cost_delta > 0 ? '+' : '') + money(c.cost_delta)],
      ['Rules', (c) => (c.rules || []).join(', ')]], r.changes || [], { caption: 'Changed decisions', empty: 'no decision would change' }));
}

export async function rulesPage(main, args, role) {
  const canWrite = role === 'analyst' || role === 'admin';
  const list = h('div', { class: 'rule-list' });
  const work = h('div', { class: 'rule-work' });
  const ref = h('aside', { class: 'reference', 'aria-label': 'Rule reference' });
  clear(main, h('h1', {}, 'Rules'), h('div', { class: 'rules-layout' }, list, work, ref));

  if (!reference) reference = marked.parse(await (await fetch('/console/rules.md')).text());
  const refBody = h('div', { class: 'md' });
  refBody.innerHTML = reference; // our own document, built into the binary
  refBody.querySelectorAll('pre').forEach((pre) => pre.setAttribute('tabindex', '0'));
  clear(ref, h('details', { open: true }, h('summary', {}, 'Rule reference (docs/RULES.md)'), refBody));

  const sets = (await get('/v1/rules')).items;
  const newName = h('input', { type: 'text', placeholder: 'new_set', pattern: '[A-Za-z0-9_-]{1,63}' });
  clear(list, h('h2', {}, 'Rule sets'),
    table([['Set', (s) => h('a', { href: '#/rules/' + enc(s.name) }, s.name)], ['Active', (s) => s.active_version ? 'v' + s.active_version : 'none'],
      ['Latest', (s) => 'v' + s.version]], sets, { empty: 'no rule sets yet' }),
    canWrite ? h('form', { class: 'inline', onsubmit: (ev) => { ev.preventDefault(); if (newName.value) location.hash = '#/rules/' + enc(newName.value) + '/new'; } },
      field('New rule set', newName), h('button', { type: 'submit' }, 'Create')) : null);

  const name = args[0] || (sets[0] && sets[0].name);
  if (!name) { work.append(h('p', {}, 'Choose or create a rule set.')); return; }
  await ruleSet(work, name, args[1] === 'new', canWrite);
}

async function ruleSet(work, name, isNew, canWrite) {
  let versions = [];
  if (!isNew) versions = (await get(`/v1/rules/${enc(name)}/versions`)).items;
  const active = versions.find((v) => v.active);
  const latest = versions[0];
  const msg = h('div', { class: 'messages' });
  const results = h('div', { class: 'results' });
  const box = h('div', { class: 'editor' });
  let shown = latest ? latest.version : 0; // the version the editor was loaded from
  const src = latest ? (await api('GET', `/v1/rules/${enc(name)}/versions/${latest.version}`)).body
    : `-- ${name}: see the rule reference beside the editor\nrules = {\n}\n\ntests = {\n}\n`;
  const view = editor(box, src, !canWrite);

  const limit = h('input', { type: 'number', min: 1, max: 1000, value: 200 });
  const busy = async (fn) => {
    try { await fn(); } catch (e) {
      const lines = e.body && e.body.errors ? e.body.errors.map((x) => `line ${x.line}: ${x.message}`).join('; ') : '';
      notice(msg, lines ? `${errorText(e)} — ${lines}` : errorText(e), 'error');
      if (e.body && e.body.errors) view.dispatch(setDiagnostics(view.state, diagnosticsOf(view, e.body.errors)));
      if (e.body && e.body.tests) clear(results, testsTable(e.body.tests));
    }
  };
  const save = () => busy(async () => {
    notice(msg, 'Checking…');
    const r = (await api('PUT', `/v1/rules/${enc(name)}`, { text: view.state.doc.toString() })).body;
    view.dispatch(setDiagnostics(view.state, []));
    notice(msg, `Saved ${name} v${r.version}: it compiles and its tests pass. Replay it, then activate.`, 'ok');
    clear(results, testsTable(r.tests));
    await refreshVersions();
    shown = r.version;
    testBtn.disabled = false;
  });
  const test = () => busy(async () => {
    const r = (await post(`/v1/rules/${enc(name)}/test`, { version: shown })).body;
    const errs = r.errors || [];
    view.dispatch(setDiagnostics(view.state, diagnosticsOf(view, errs)));
    notice(msg, errs.length ? `v${r.version}: ${errs.length} failing tests, marked on their lines.` : `v${r.version}: every test passes.`, errs.length ? 'error' : 'ok');
    clear(results, testsTable(r.tests));
  });
  const replay = () => busy(async () => {
    notice(msg, 'Replaying…');
    const r = (await post(`/v1/rules/${enc(name)}/replay`, { version: shown, limit: Number(limit.value) })).body;
    notice(msg, `Replay of v${shown} done.`, 'ok');
    clear(results, replayTable(r));
    return r;
  });
  const activate = (version, verb) => busy(async () => {
    const r = (await post(`/v1/rules/${enc(name)}/replay`, { version, limit: Number(limit.value) })).body;
    const ok = await confirmDialog(`${verb} ${name} v${version}?`, replayTable(r), verb);
    if (!ok) { notice(msg, `${verb} cancelled; nothing changed.`); return; }
    await post(`/v1/rules/${enc(name)}/activate`, { version });
    notice(msg, `${name} v${version} is active.`, 'ok');
    await refreshVersions();
  });

  const testBtn = h('button', { type: 'button', onclick: test, disabled: !latest }, 'Run tests');
  const verBox = h('div', { class: 'versions' });
  const diffA = h('select', {}), diffB = h('select', {});
  const diffBox = h('div', { class: 'diff' });
  async function refreshVersions() {
    versions = (await get(`/v1/rules/${enc(name)}/versions`)).items;
    const act = versions.find((v) => v.active);
    const prev = act ? versions.find((v) => v.version < act.version) : null;
    clear(verBox, table([
      ['Version', (v) => h('button', { type: 'button', class: 'link', onclick: async () => {
        const text = (await api('GET', `/v1/rules/${enc(name)}/versions/${v.version}`)).body;
        view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } });
        shown = v.version;
        notice(msg, `Loaded v${v.version} into the editor.`);
      } }, 'v' + v.version)],
      ['State', (v) => (v.active ? badge('active', 'done') : '')], ['Tests', (v) => v.tests_passed],
      ['By', (v) => v.author_role], ['Stored', (v) => when(v.created_at)],
      ['', (v) => (canWrite && !v.active ? h('button', { type: 'button', onclick: () => activate(v.version, 'Activate') }, 'Activate') : '')],
    ], versions, { caption: 'History' }),
    canWrite && prev ? h('button', { type: 'button', onclick: () => activate(prev.version, 'Roll back to') }, `Roll back to v${prev.version}`) : null);
    for (const sel of [diffA, diffB]) clear(sel, versions.map((v) => h('option', { value: v.version }, 'v' + v.version)));
    if (versions.length > 1) diffB.value = versions[1].version;
  }
  const diff = () => busy(async () => {
    const [a, b] = await Promise.all([diffB.value, diffA.value].map((v) => api('GET', `/v1/rules/${enc(name)}/versions/${v}`).then((r) => r.body)));
    clear(diffBox, h('p', { class: 'muted' }, `v${diffB.value} (left) against v${diffA.value} (right)`));
    const mv = new MergeView({ a: { doc: a, extensions: [basicSetup, cspNonce, StreamLanguage.define(lua), EditorState.readOnly.of(true)] },
      b: { doc: b, extensions: [basicSetup, cspNonce, StreamLanguage.define(lua), EditorState.readOnly.of(true)] }, parent: diffBox });
    mv.dom.setAttribute('aria-label', 'Difference of two versions');
  });

  clear(work,
    h('h2', {}, name, ' ', active ? badge('active v' + active.version, 'done') : badge(isNew ? 'new' : 'not active', 'queued')),
    box,
    h('div', { class: 'toolbar' },
      canWrite ? h('button', { type: 'button', class: 'primary', onclick: save }, 'Check & save') : null,
      testBtn,
      canWrite ? [field('Replay last N orders', limit), h('button', { type: 'button', onclick: replay }, 'Replay')] : null),
    msg, results, verBox,
    h('details', { class: 'diff-box' }, h('summary', {}, 'Compare two versions'),
      h('div', { class: 'inline' }, field('Right', diffA), field('Left', diffB), h('button', { type: 'button', onclick: diff }, 'Show difference')), diffBox));
  if (versions.length) await refreshVersions();
}
