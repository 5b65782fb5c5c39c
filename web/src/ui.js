// Small DOM helpers: every text from the API goes in as text, never as markup.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'value') el.value = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function clear(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

// table([[header, cell(row)], …], rows, {caption, empty}) → <table>
export function table(cols, rows, opts = {}) {
  return h('table', { class: opts.class || 'grid' },
    opts.caption ? h('caption', {}, opts.caption) : null,
    h('thead', {}, h('tr', {}, cols.map(([t]) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, rows.length
      ? rows.map((r) => h('tr', opts.rowAttrs ? opts.rowAttrs(r) : {}, cols.map(([, f]) => h('td', {}, f(r)))))
      : h('tr', {}, h('td', { colspan: cols.length, class: 'muted' }, opts.empty || 'nothing yet'))));
}

export const money = (x) => (x === null || x === undefined ? '–' : Number(x).toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 }));
export const num = (x, d = 0) => (x === null || x === undefined || Number.isNaN(x) ? '–' : Number(x).toLocaleString('en-US', { maximumFractionDigits: d }));
export const pct = (x) => (x === null || x === undefined ? '–' : (100 * x).toFixed(1) + ' %');
export const when = (s) => (s ? s.replace('T', ' ').replace('Z', ' UTC') : '–');

export function badge(text, kind) {
  return h('span', { class: 'badge ' + (kind || String(text).toLowerCase()) }, text);
}

// A message in the page's notice area (role=status for screen readers)
export function notice(el, text, kind = 'info') {
  clear(el, text ? h('div', { class: 'notice ' + kind, role: kind === 'error' ? 'alert' : 'status' }, text) : null);
}

export function errorText(e) {
  if (e && e.status) return `${e.status}: ${e.message}`;
  return String(e && e.message ? e.message : e);
}

// A modal confirmation: resolves true/false. body: nodes shown above the buttons.
export function confirmDialog(title, body, okLabel = 'Confirm') {
  return new Promise((resolve) => {
    const dlg = h('dialog', { class: 'confirm', 'aria-labelledby': 'dlg-title' });
    const done = (v) => { dlg.close(); dlg.remove(); resolve(v); };
    dlg.append(h('h2', { id: 'dlg-title' }, title), h('div', {}, body),
      h('div', { class: 'buttons' },
        h('button', { type: 'button', onclick: () => done(false) }, 'Cancel'),
        h('button', { type: 'button', class: 'primary', onclick: () => done(true) }, okLabel)));
    dlg.addEventListener('cancel', () => done(false));
    document.body.append(dlg);
    dlg.showModal();
  });
}

// Save text as a file without leaving the page
export function download(name, text, type = 'text/csv') {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = h('a', { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export function field(label, input, hint) {
  const id = input.id || 'f-' + Math.random().toString(36).slice(2, 9);
  input.id = id;
  return h('div', { class: 'field' }, h('label', { for: id }, label), input, hint ? h('small', {}, hint) : null);
}
