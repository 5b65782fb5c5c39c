// fulcrum console: the shell — sign in with a token, pages by role, hash routes.
import { api, session, whenUnauthorized } from './api.js';
import { h, clear, field, errorText } from './ui.js';
import { overviewPage } from './overview.js';

// each page's code (the editor, the map, the charts) loads when the page is first opened
const lazy = (load, name) => async (...args) => (await load())[name](...args);
const rulesPage = lazy(() => import('./rules.js'), 'rulesPage');
const forecastsPage = lazy(() => import('./planner.js'), 'forecastsPage');
const scenariosPage = lazy(() => import('./planner.js'), 'scenariosPage');
const transfersPage = lazy(() => import('./planner.js'), 'transfersPage');
const decisionsPage = lazy(() => import('./support.js'), 'decisionsPage');
const outboxPage = lazy(() => import('./support.js'), 'outboxPage');

const ALL = ['admin', 'planner', 'analyst', 'orchestrator'];
const PAGES = [
  { id: 'overview', title: 'Overview', roles: ALL, render: overviewPage },
  { id: 'rules', title: 'Rules', roles: ['admin', 'analyst', 'planner'], render: rulesPage },
  { id: 'forecasts', title: 'Forecasts', roles: ['admin', 'planner', 'orchestrator'], render: forecastsPage },
  { id: 'scenarios', title: 'Scenarios', roles: ['admin', 'planner'], render: scenariosPage },
  { id: 'transfers', title: 'Transfers', roles: ['admin', 'planner'], render: transfersPage },
  { id: 'decisions', title: 'Decisions', roles: ['admin', 'planner', 'orchestrator'], render: decisionsPage },
  { id: 'outbox', title: 'Outbox', roles: ['admin', 'planner', 'orchestrator'], render: outboxPage },
];

const app = document.getElementById('app');
let stopPage = null; // a page's cleanup (timers, charts)

function signIn(message) {
  session.clear();
  const input = h('input', { type: 'password', autocomplete: 'off', required: true, spellcheck: 'false' });
  const msg = h('p', { class: 'error', role: 'alert' }, message || '');
  const form = h('form', { class: 'signin card' },
    h('h1', {}, 'fulcrum console'),
    h('p', {}, 'Paste a bearer token (', h('code', {}, 'fulcrum token create --db FILE --role ROLE'),
      '). It is kept in this tab only and forgotten when the tab closes.'),
    field('Token', input),
    h('button', { type: 'submit', class: 'primary' }, 'Sign in'), msg);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      const me = (await api('GET', '/v1/me', { token: input.value.trim() })).body;
      session.set(input.value.trim(), me.role);
      route();
    } catch (e) {
      msg.textContent = e.status === 401 ? 'That token is not valid.' : errorText(e);
    }
  });
  clear(app, h('main', { id: 'main' }, form));
  input.focus();
}

function shell(pages, current) {
  const nav = h('nav', { 'aria-label': 'Pages' }, h('ul', {}, pages.map((p) =>
    h('li', {}, h('a', { href: '#/' + p.id, 'aria-current': p.id === current ? 'page' : null }, p.title)))));
  const main = h('main', { id: 'main', tabindex: '-1' });
  clear(app,
    h('header', { class: 'top' },
      h('a', { class: 'brand', href: '#/overview' }, 'fulcrum'), nav,
      h('span', { class: 'who' }, 'role: ', h('strong', {}, session.role())),
      h('button', { type: 'button', onclick: () => { session.clear(); signIn(); } }, 'Sign out')),
    main);
  return main;
}

async function route() {
  if (stopPage) { stopPage(); stopPage = null; }
  if (!session.token()) return signIn();
  const role = session.role();
  const pages = PAGES.filter((p) => p.roles.includes(role));
  const [id, ...rest] = (location.hash.replace(/^#\/?/, '') || 'overview').split('/');
  const page = pages.find((p) => p.id === id) || pages[0];
  const main = shell(pages, page.id);
  document.title = page.title + ' · fulcrum';
  try {
    stopPage = (await page.render(main, rest.map(decodeURIComponent), role)) || null;
  } catch (e) {
    main.append(h('p', { class: 'error', role: 'alert' }, errorText(e)));
  }
}

whenUnauthorized(() => signIn('The token was refused; sign in again.'));
window.addEventListener('hashchange', route);
route();
