// The audit log, API keys and operator accounts (admins only), and the
// webhook settings page.
import { useEffect, useState } from 'preact/hooks';
import { api, session } from '../api.js';
import { Empty, FormError, LoadError, Modal, Pager, confirmAction, formValues, fromMs, fromSeconds, html, toast, toastError, useCursor, useLoad, useSubmit } from '../ui.js';

export function Audit() {
  const [filter, setFilter] = useState({ actor: '', action: '' });
  const paging = useCursor();
  const list = useLoad(() => api('GET', '/audit', { query: { ...filter, cursor: paging.cursor, limit: 50 } }), [filter, paging.cursor]);
  useEffect(() => paging.first(), [filter]);
  const page = list.data;
  return html`<div class="stack">
    <form class="toolbar" onSubmit=${(e) => {
      e.preventDefault();
      const v = formValues(e.currentTarget);
      setFilter({ actor: v.actor ?? '', action: v.action ?? '' });
    }}>
      <input name="actor" placeholder="Actor, e.g. operator:root" value=${filter.actor} aria-label="Actor" />
      <input name="action" placeholder="Action, e.g. user.disable" value=${filter.action} aria-label="Action" />
      <button type="submit" class="secondary">Filter</button>
      <span class="spacer"></span>
      <button type="button" class="secondary outline" onClick=${list.reload}>Refresh</button>
    </form>
    <${LoadError} error=${list.error} retry=${list.reload} />
    <article class="card flush">
      <div class="table-wrap"><table class="striped">
        <thead><tr><th>When</th><th>Who</th><th>Action</th><th>Target</th><th>Details</th></tr></thead>
        <tbody>
          ${(page?.items ?? []).map((a) => html`<tr key=${a.id} data-testid="audit-row" data-action=${a.action}>
            <td class="small nowrap">${fromMs(a.at)}</td>
            <td>${a.actor}</td>
            <td><span class="badge badge-blue">${a.action}</span></td>
            <td><code class="small">${a.target}</code></td>
            <td class="detail">${a.detail && a.detail !== '{}' ? html`<code class="small" title=${a.detail}>${a.detail}</code>` : html`<span class="muted">—</span>`}</td>
          </tr>`)}
        </tbody>
      </table></div>
      ${page && page.items.length === 0 ? html`<${Empty}>Nothing recorded yet.<//>` : null}
    </article>
    <${Pager} paging=${paging} page=${page} />
  </div>`;
}

export function ApiKeys() {
  const list = useLoad(() => api('GET', '/api-keys').then((d) => d.items), []);
  const [created, setCreated] = useState(null);
  const { busy, error, onSubmit } = useSubmit(async (form) => {
    const v = formValues(form);
    const answer = await api('POST', '/api-keys', { body: { name: v.name ?? '', role: v.role ?? 'viewer' } });
    form.reset();
    setCreated(answer);
    list.reload();
  });
  const revoke = async (k) => {
    if (!(await confirmAction({ title: `Revoke ${k.name}?`, text: 'Programs using this key are refused from now on.', action: 'Revoke' }))) return;
    try {
      await api('DELETE', `/api-keys/${k.id}`);
      toast('ok', `Revoked ${k.name}.`);
      list.reload();
    } catch (err) {
      toastError(err);
    }
  };
  return html`<div class="stack">
    <article class="card">
      <h3>New API key</h3>
      <form class="inline-form" onSubmit=${onSubmit}>
        <input name="name" required maxlength="64" placeholder="What uses it, e.g. hr-sync" aria-label="Name" />
        <select name="role" aria-label="Role"><option value="viewer">viewer (read only)</option><option value="admin">admin</option></select>
        <button type="submit" aria-busy=${busy} disabled=${busy}>Create key</button>
      </form>
      <${FormError} error=${error} />
    </article>
    <${LoadError} error=${list.error} retry=${list.reload} />
    <article class="card flush">
      <div class="table-wrap"><table class="striped">
        <thead><tr><th>Name</th><th>Key</th><th>Role</th><th>Created</th><th>Last used</th><th>State</th><th class="actions"></th></tr></thead>
        <tbody>
          ${(list.data ?? []).map((k) => html`<tr key=${k.id}>
            <td><strong>${k.name}</strong><div class="muted small">by ${k.createdBy}</div></td>
            <td><code>${k.prefix}…</code></td>
            <td>${k.role}</td>
            <td class="small">${fromSeconds(k.created)}</td>
            <td class="small">${k.lastUsed ? fromSeconds(k.lastUsed) : 'never'}</td>
            <td>${k.revoked ? html`<span class="badge badge-red">revoked</span>` : html`<span class="badge badge-green">active</span>`}</td>
            <td class="actions">${k.revoked ? null : html`<button class="danger outline small" onClick=${() => revoke(k)}>Revoke</button>`}</td>
          </tr>`)}
        </tbody>
      </table></div>
      ${list.data && list.data.length === 0 ? html`<${Empty}>No API keys yet.<//>` : null}
    </article>
    ${created
      ? html`<${Modal} title=${`Key for ${created.info.name}`} onClose=${() => setCreated(null)}>
          <p>Copy the key now: it is shown only once (the server keeps only its hash).</p>
          <pre class="key" data-testid="api-key-value">${created.key}</pre>
          <footer>
            <button class="secondary" onClick=${() => navigator.clipboard?.writeText(created.key).then(() => toast('ok', 'Copied.'), () => {})}>Copy</button>
            <button onClick=${() => setCreated(null)}>Done</button>
          </footer>
        <//>`
      : null}
  </div>`;
}

function OperatorForm({ onDone, onClose }) {
  const { busy, error, onSubmit } = useSubmit(async (form) => {
    const v = formValues(form);
    const op = await api('POST', '/operators', { body: { name: v.name ?? '', password: v.password ?? '', role: v.role ?? 'viewer' } });
    toast('ok', `Created operator ${op.name}.`);
    onDone();
  });
  return html`<${Modal} title="New operator" onClose=${onClose}>
    <form onSubmit=${onSubmit}>
      <label>Name <input name="name" required maxlength="64" autocomplete="off" /></label>
      <div class="grid">
        <label>Password <input name="password" type="password" required autocomplete="new-password" /></label>
        <label>Role <select name="role"><option value="viewer">viewer</option><option value="admin">admin</option></select></label>
      </div>
      <${FormError} error=${error} />
      <footer>
        <button type="button" class="secondary" onClick=${onClose}>Cancel</button>
        <button type="submit" aria-busy=${busy} disabled=${busy}>Create</button>
      </footer>
    </form>
  <//>`;
}

export function Operators() {
  const list = useLoad(() => api('GET', '/operators').then((d) => d.items), []);
  const [creating, setCreating] = useState(false);
  const change = async (op, patch, what) => {
    try {
      await api('PATCH', `/operators/${op.id}`, { body: patch });
      toast('ok', what);
      list.reload();
    } catch (err) {
      toastError(err);
    }
  };
  return html`<div class="stack">
    <div class="toolbar"><span class="muted">Operator accounts use this console and the API; they are not chat users.</span><span class="spacer"></span>
      <button onClick=${() => setCreating(true)}>New operator</button></div>
    <${LoadError} error=${list.error} retry=${list.reload} />
    <article class="card flush">
      <div class="table-wrap"><table class="striped">
        <thead><tr><th>ID</th><th>Name</th><th>Role</th><th>State</th><th>Created</th><th class="actions">Actions</th></tr></thead>
        <tbody>
          ${(list.data ?? []).map((op) => html`<tr key=${op.id}>
            <td class="muted">${op.id}</td>
            <td><strong>${op.name}</strong></td>
            <td><span class=${`badge ${op.role === 'admin' ? 'badge-blue' : 'badge-grey'}`}>${op.role}</span></td>
            <td>${op.disabled ? html`<span class="badge badge-red">disabled</span>` : html`<span class="badge badge-green">active</span>`}</td>
            <td class="small">${fromSeconds(op.created)}</td>
            <td class="actions">
              <button class="secondary outline small" onClick=${() => change(op, { role: op.role === 'admin' ? 'viewer' : 'admin' }, `${op.name} is now ${op.role === 'admin' ? 'a viewer' : 'an admin'}.`)}>Make ${op.role === 'admin' ? 'viewer' : 'admin'}</button>
              ${op.disabled
                ? html`<button class="outline small" onClick=${() => change(op, { disabled: false }, `${op.name} is enabled.`)}>Enable</button>`
                : html`<button class="danger outline small" onClick=${async () => (await confirmAction({ title: `Disable ${op.name}?`, text: 'Their tokens stop working within seconds.', action: 'Disable' })) && change(op, { disabled: true }, `${op.name} is disabled.`)}>Disable</button>`}
            </td>
          </tr>`)}
        </tbody>
      </table></div>
    </article>
    ${creating
      ? html`<${OperatorForm} onClose=${() => setCreating(false)} onDone=${() => {
          setCreating(false);
          list.reload();
        }} />`
      : null}
  </div>`;
}

const EVENTS = {
  'message.stored': 'after a message is stored',
  'user.login': 'after a user logs in',
  'user.logout': 'after a user logs out',
  'message.before_send': 'before a message is sent (may reject it)',
};

function WebhookForm({ webhook, onDone, onClose }) {
  const editing = Boolean(webhook);
  const [event, setEvent] = useState(webhook?.event ?? 'message.stored');
  const { busy, error, onSubmit } = useSubmit(async (form) => {
    const v = formValues(form);
    const data = new FormData(form);
    const body = { url: v.url ?? '', timeoutMs: Number(v.timeoutMs ?? 5000), enabled: data.get('enabled') === 'on' };
    if (!editing) body.event = event;
    if (event === 'message.before_send') body.failOpen = data.get('failOpen') === 'on';
    if (v.secret) body.secret = v.secret;
    const saved = editing ? await api('PATCH', `/webhooks/${webhook.id}`, { body }) : await api('POST', '/webhooks', { body });
    toast('ok', editing ? 'The webhook was saved.' : 'The webhook was added.');
    onDone(editing ? null : saved);
  });
  return html`<${Modal} title=${editing ? 'Edit webhook' : 'New webhook'} onClose=${onClose} testid="webhook-form" wide>
    <form onSubmit=${onSubmit}>
      <label>Event
        <select name="event" value=${event} disabled=${editing} onChange=${(e) => setEvent(e.currentTarget.value)}>
          ${Object.entries(EVENTS).map(([key, text]) => html`<option key=${key} value=${key}>${key} — ${text}</option>`)}
        </select>
      </label>
      <label>URL <input name="url" type="url" required maxlength="2048" placeholder="https://hooks.example.com/teamtalk" value=${webhook?.url ?? ''} /></label>
      <div class="grid">
        <label>Timeout (ms) <input name="timeoutMs" type="number" min="100" max="30000" step="100" value=${String(webhook?.timeoutMs ?? 5000)} /></label>
        <label>${editing ? 'New signing secret (optional)' : 'Signing secret (optional: one is made)'} <input name="secret" minlength="16" maxlength="256" autocomplete="off" /></label>
      </div>
      <label><input type="checkbox" role="switch" name="enabled" checked=${webhook?.enabled ?? true} /> Enabled</label>
      ${event === 'message.before_send'
        ? html`<label><input type="checkbox" role="switch" name="failOpen" checked=${webhook?.failOpen ?? true} /> Let messages through when the URL fails or times out (fail open)</label>`
        : null}
      <${FormError} error=${error} />
      <footer>
        <button type="button" class="secondary" onClick=${onClose}>Cancel</button>
        <button type="submit" aria-busy=${busy} disabled=${busy}>${editing ? 'Save' : 'Add webhook'}</button>
      </footer>
    </form>
  <//>`;
}

/** Webhook settings (GET/POST/PATCH/DELETE /webhooks); a server without them gets a note instead. */
export function Webhooks() {
  const list = useLoad(() => api('GET', '/webhooks').then((d) => d.items), []);
  const [dialog, setDialog] = useState(null);
  const [secret, setSecret] = useState(null);
  const admin = session.operator()?.role === 'admin';
  if (list.error?.status === 404) {
    return html`<article class="card" data-testid="webhooks-placeholder">
      <h3>Webhooks</h3>
      <p>This server's API does not offer webhook settings, so there is nothing to configure here.</p>
    </article>`;
  }
  const change = async (w, patch, what) => {
    try {
      await api('PATCH', `/webhooks/${w.id}`, { body: patch });
      toast('ok', what);
      list.reload();
    } catch (err) {
      toastError(err);
    }
  };
  const remove = async (w) => {
    if (!(await confirmAction({ title: 'Remove this webhook?', text: `${w.url} is no longer called ${EVENTS[w.event] ?? w.event}.`, action: 'Remove' }))) return;
    try {
      await api('DELETE', `/webhooks/${w.id}`);
      toast('ok', 'The webhook was removed.');
      list.reload();
    } catch (err) {
      toastError(err);
    }
  };
  return html`<div class="stack" data-testid="webhooks">
    <div class="toolbar">
      <span class="muted">Calls are signed with HMAC-SHA256 (header X-TT-Signature) and retried with back-off.</span>
      <span class="spacer"></span>
      ${admin ? html`<button onClick=${() => setDialog({})}>New webhook</button>` : null}
    </div>
    <${LoadError} error=${list.error} retry=${list.reload} />
    <article class="card flush">
      <div class="table-wrap"><table class="striped">
        <thead><tr><th>Event</th><th>URL</th><th>Timeout</th><th>On failure</th><th>State</th>${admin ? html`<th class="actions">Actions</th>` : null}</tr></thead>
        <tbody>
          ${(list.data ?? []).map((w) => html`<tr key=${w.id}>
            <td><span class="badge badge-blue">${w.event}</span><div class="muted small">${EVENTS[w.event] ?? ''}</div></td>
            <td class="url"><code class="small">${w.url}</code></td>
            <td>${w.timeoutMs} ms</td>
            <td>${w.event === 'message.before_send' ? (w.failOpen ? 'let through' : 'reject') : '—'}</td>
            <td>${w.enabled ? html`<span class="badge badge-green">enabled</span>` : html`<span class="badge badge-grey">disabled</span>`}</td>
            ${admin
              ? html`<td class="actions">
                  <button class="secondary outline small" onClick=${() => setDialog({ webhook: w })}>Edit</button>
                  <button class="secondary outline small" onClick=${() => change(w, { enabled: !w.enabled }, w.enabled ? 'The webhook is disabled.' : 'The webhook is enabled.')}>${w.enabled ? 'Disable' : 'Enable'}</button>
                  <button class="danger outline small" onClick=${() => remove(w)}>Remove</button>
                </td>`
              : null}
          </tr>`)}
        </tbody>
      </table></div>
      ${list.data && list.data.length === 0 ? html`<${Empty}>No webhooks: nothing is called.<//>` : null}
    </article>
    ${dialog
      ? html`<${WebhookForm} webhook=${dialog.webhook} onClose=${() => setDialog(null)} onDone=${(created) => {
          setDialog(null);
          if (created) setSecret(created);
          list.reload();
        }} />`
      : null}
    ${secret
      ? html`<${Modal} title="Signing secret" onClose=${() => setSecret(null)}>
          <p>Give this secret to the receiving service to check X-TT-Signature. It is shown only once.</p>
          <pre class="key">${secret.secret}</pre>
          <footer><button onClick=${() => setSecret(null)}>Done</button></footer>
        <//>`
      : null}
  </div>`;
}
