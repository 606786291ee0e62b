// The operator console: sign-in, then a sidebar of pages switched by the URL
// hash (#/dashboard, #/users, …). Everything it shows comes from /api/v1.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, session } from './api.js';
import { ConfirmHost, FormError, Toasts, html, useSubmit } from './ui.js';
import { Dashboard } from './pages/dashboard.js';
import { Users } from './pages/users.js';
import { Departments, Groups } from './pages/directory.js';
import { Messages } from './pages/messages.js';
import { ApiKeys, Audit, Operators, Webhooks } from './pages/admin.js';

const PAGES = [
  { path: 'dashboard', title: 'Dashboard', icon: '◔', view: Dashboard },
  { path: 'users', title: 'Users', icon: '☺', view: Users },
  { path: 'departments', title: 'Departments', icon: '▤', view: Departments },
  { path: 'groups', title: 'Groups', icon: '◎', view: Groups },
  { path: 'messages', title: 'Messages', icon: '✉', view: Messages },
  { path: 'audit', title: 'Audit log', icon: '☰', view: Audit },
  { path: 'api-keys', title: 'API keys', icon: '⌘', view: ApiKeys, admin: true },
  { path: 'operators', title: 'Operators', icon: '♔', view: Operators, admin: true },
  { path: 'webhooks', title: 'Webhooks', icon: '⇄', view: Webhooks },
];

/** The hash route: { path, params } from "#/users?search=x". */
function currentRoute() {
  const [path, query = ''] = location.hash.replace(/^#\/?/, '').split('?');
  return { path: path || 'dashboard', params: new URLSearchParams(query) };
}

function useRoute() {
  const [route, setRoute] = useState(currentRoute);
  useEffect(() => {
    const onHash = () => setRoute(currentRoute());
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);
  return route;
}

function SignIn({ notice, onSignedIn }) {
  const { busy, error, onSubmit } = useSubmit(async (form) => {
    const data = new FormData(form);
    const answer = await api('POST', '/auth/login', { body: { name: String(data.get('name')).trim(), password: String(data.get('password')) } });
    session.save(answer.token, answer.operator);
    onSignedIn(answer.operator);
  });
  return html`<main class="signin">
    <article>
      <header>
        <div class="brand brand-large"><img src="icon.svg" alt="" /> <span>TeamTalk Console</span></div>
        <p class="muted">Sign in with your operator account.</p>
      </header>
      ${notice && !error ? html`<p class="notice" data-testid="signin-notice">${notice}</p>` : null}
      <form onSubmit=${onSubmit}>
        <label>Name <input name="name" autocomplete="username" required autofocus data-testid="signin-name" /></label>
        <label>Password <input name="password" type="password" autocomplete="current-password" required data-testid="signin-password" /></label>
        <${FormError} error=${error} />
        <button type="submit" aria-busy=${busy} disabled=${busy} data-testid="signin-submit">Sign in</button>
      </form>
      <footer class="muted small">The first admin is created on the server with <code>ttctl admin add</code>.</footer>
    </article>
  </main>`;
}

function Shell({ operator, onSignOut }) {
  const route = useRoute();
  const pages = PAGES.filter((p) => !p.admin || operator.role === 'admin');
  const page = pages.find((p) => p.path === route.path) ?? pages[0];
  useEffect(() => {
    document.title = `${page.title} · TeamTalk Console`;
  }, [page]);
  return html`<div class="shell">
    <aside class="sidebar">
      <div class="brand"><img src="icon.svg" alt="" /> <span>TeamTalk</span></div>
      <nav>
        <ul>
          ${pages.map((p) => html`<li key=${p.path}>
            <a href=${`#/${p.path}`} class=${p === page ? 'active' : ''} aria-current=${p === page ? 'page' : 'false'} data-testid=${`nav-${p.path}`}>
              <span class="icon" aria-hidden="true">${p.icon}</span>${p.title}
            </a>
          </li>`)}
        </ul>
      </nav>
    </aside>
    <div class="main">
      <header class="topbar">
        <h1 data-testid="page-title">${page.title}</h1>
        <div class="who">
          <span data-testid="operator-name">${operator.name}</span>
          <span class=${`badge ${operator.role === 'admin' ? 'badge-blue' : 'badge-grey'}`}>${operator.role}</span>
          <button class="secondary outline small" onClick=${onSignOut} data-testid="sign-out">Sign out</button>
        </div>
      </header>
      <section class="content">
        <${page.view} key=${page.path} params=${route.params} />
      </section>
    </div>
  </div>`;
}

function App() {
  const [operator, setOperator] = useState(() => (session.token() ? session.operator() : null));
  const [notice, setNotice] = useState('');
  useEffect(
    () =>
      session.onSignedOut((reason) => {
        setNotice(reason);
        setOperator(null);
      }),
    [],
  );
  return html`
    ${operator
      ? html`<${Shell} operator=${operator} onSignOut=${() => session.clear('You have signed out.')} />`
      : html`<${SignIn} notice=${notice} onSignedIn=${(op) => {
          setNotice('');
          setOperator(op);
        }} />`}
    <${Toasts} />
    <${ConfirmHost} />
  `;
}

const root = document.getElementById('app');
root.textContent = '';
render(html`<${App} />`, root);
