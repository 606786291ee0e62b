// Chat users: search and page through them, create, import, edit, disable or
// enable, kick, reset a password, and send one a system message.
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.js';
import { Empty, FormError, LoadError, Modal, Pager, SearchForm, canWrite, confirmAction, formValues, fromSeconds, html, toast, toastError, useCursor, useInterval, useLoad, useSubmit } from '../ui.js';

const REFRESH_MS = 5000;

export function useDepartments() {
  const { data } = useLoad(() => api('GET', '/departments').then((d) => d.items), []);
  return data ?? [];
}

function UserForm({ user, departments, onDone, onClose }) {
  const editing = Boolean(user);
  const { busy, error, onSubmit } = useSubmit(async (form) => {
    const values = formValues(form);
    const body = {};
    for (const key of ['nick', 'realName', 'phone', 'email', 'signInfo']) if (editing || values[key] !== undefined) body[key] = values[key] ?? '';
    body.departId = Number(values.departId ?? 0);
    body.sex = Number(values.sex ?? 0);
    let saved;
    if (editing) saved = await api('PATCH', `/users/${user.id}`, { body });
    else saved = await api('POST', '/users', { body: { name: values.name ?? '', password: values.password ?? '', ...body } });
    toast('ok', editing ? `Saved ${saved.name}.` : `Created user ${saved.name} (id ${saved.id}).`);
    onDone(saved);
  });
  return html`<${Modal} title=${editing ? `Edit ${user.name}` : 'New user'} onClose=${onClose} testid="user-form">
    <form onSubmit=${onSubmit}>
      ${editing
        ? null
        : html`<div class="grid">
            <label>Account name <input name="name" required maxlength="64" pattern="[^\\s]+" title="No spaces" data-testid="user-form-name" /></label>
            <label>Password <input name="password" type="password" required maxlength="256" autocomplete="new-password" data-testid="user-form-password" /></label>
          </div>`}
      <div class="grid">
        <label>Nickname <input name="nick" maxlength="64" value=${user?.nick ?? ''} data-testid="user-form-nick" /></label>
        <label>Real name <input name="realName" maxlength="64" value=${user?.realName ?? ''} /></label>
      </div>
      <div class="grid">
        <label>Department
          <select name="departId" value=${String(user?.departId ?? 0)}>
            <option value="0">— none —</option>
            ${departments.map((d) => html`<option key=${d.id} value=${String(d.id)}>${d.name}</option>`)}
          </select>
        </label>
        <label>Sex
          <select name="sex" value=${String(user?.sex ?? 0)}>
            <option value="0">unspecified</option><option value="1">male</option><option value="2">female</option>
          </select>
        </label>
      </div>
      <div class="grid">
        <label>Phone <input name="phone" maxlength="32" value=${user?.phone ?? ''} /></label>
        <label>E-mail <input name="email" type="email" maxlength="128" value=${user?.email ?? ''} /></label>
      </div>
      <label>Signature <input name="signInfo" maxlength="256" value=${user?.signInfo ?? ''} /></label>
      <${FormError} error=${error} />
      <footer>
        <button type="button" class="secondary" onClick=${onClose}>Cancel</button>
        <button type="submit" aria-busy=${busy} disabled=${busy} data-testid="user-form-submit">${editing ? 'Save' : 'Create user'}</button>
      </footer>
    </form>
  <//>`;
}

function PasswordForm({ user, onClose }) {
  const { busy, error, onSubmit } = useSubmit(async (form) => {
    await api('POST', `/users/${user.id}/password`, { body: { password: String(new FormData(form).get('password')) } });
    toast('ok', `The password of ${user.name} was changed.`);
    onClose();
  });
  return html`<${Modal} title=${`Reset the password of ${user.name}`} onClose=${onClose} testid="password-form">
    <form onSubmit=${onSubmit}>
      <label>New password <input name="password" type="password" required maxlength="256" autocomplete="new-password" /></label>
      <${FormError} error=${error} />
      <footer>
        <button type="button" class="secondary" onClick=${onClose}>Cancel</button>
        <button type="submit" aria-busy=${busy} disabled=${busy}>Set password</button>
      </footer>
    </form>
  <//>`;
}

function SendForm({ user, onClose }) {
  const { busy, error, onSubmit } = useSubmit(async (form) => {
    const text = String(new FormData(form).get('text') ?? '').trim();
    const sent = await api('POST', '/messages', { body: { to: { userId: user.id }, text } });
    toast('ok', `Sent to ${user.name} as the system (${sent.messageId}).`);
    onClose();
  });
  return html`<${Modal} title=${`Message ${user.name}`} onClose=${onClose} testid="send-form">
    <form onSubmit=${onSubmit}>
      <label>Text, sent as the system account <textarea name="text" rows="4" required maxlength="16384" data-testid="send-form-text"></textarea></label>
      <${FormError} error=${error} />
      <footer>
        <button type="button" class="secondary" onClick=${onClose}>Cancel</button>
        <button type="submit" aria-busy=${busy} disabled=${busy} data-testid="send-form-submit">Send</button>
      </footer>
    </form>
  <//>`;
}

function ImportForm({ onDone, onClose }) {
  const [report, setReport] = useState(null);
  const { busy, error, onSubmit } = useSubmit(async (form) => {
    const text = String(new FormData(form).get('rows') ?? '').trim();
    const result = text.startsWith('[') ? await api('POST', '/users/import', { text, contentType: 'application/json' }) : await api('POST', '/users/import', { text, contentType: 'text/csv' });
    setReport(result);
    if (result.accepted.length) onDone();
  });
  return html`<${Modal} title="Import users" onClose=${onClose} testid="import-form" wide>
    <form onSubmit=${onSubmit}>
      <label>CSV with a header row (name,password,nick,…) or a JSON array
        <textarea name="rows" rows="7" required class="mono" placeholder=${'name,password,nick\nalice,secret,Alice'}></textarea>
      </label>
      <${FormError} error=${error} />
      ${report
        ? html`<div class="notice">
            <strong>${report.accepted.length} created, ${report.rejected.length} rejected.</strong>
            ${report.rejected.length ? html`<ul class="small">${report.rejected.map((r) => html`<li key=${r.row}>Row ${r.row}${r.name ? ` (${r.name})` : ''}: ${r.reason}</li>`)}</ul>` : null}
          </div>`
        : null}
      <footer>
        <button type="button" class="secondary" onClick=${onClose}>Close</button>
        <button type="submit" aria-busy=${busy} disabled=${busy}>Import</button>
      </footer>
    </form>
  <//>`;
}

function Status({ user }) {
  if (user.disabled) return html`<span class="badge badge-red" data-testid="user-status">disabled</span>`;
  return user.online ? html`<span class="badge badge-green" data-testid="user-status">online</span>` : html`<span class="badge badge-grey" data-testid="user-status">offline</span>`;
}

export function Users({ params }) {
  const departments = useDepartments();
  const [search, setSearch] = useState(params.get('search') ?? '');
  const [departId, setDepartId] = useState('');
  const paging = useCursor();
  const [dialog, setDialog] = useState(null);
  const list = useLoad(() => api('GET', '/users', { query: { search, departId, cursor: paging.cursor, limit: 25 } }), [search, departId, paging.cursor]);
  useInterval(() => !dialog && list.reload(), REFRESH_MS);
  useEffect(() => paging.first(), [search, departId]);

  const departName = (id) => (id ? (departments.find((d) => d.id === id)?.name ?? `#${id}`) : '—');
  const close = () => setDialog(null);

  const setDisabled = async (user, disabled) => {
    if (disabled) {
      const ok = await confirmAction({ title: `Disable ${user.name}?`, text: 'They can no longer log in, and every connection they have is closed now.', action: 'Disable' });
      if (!ok) return;
    }
    try {
      await api('PATCH', `/users/${user.id}`, { body: { disabled } });
      toast('ok', disabled ? `${user.name} is disabled; their connections were closed.` : `${user.name} is enabled.`);
      list.reload();
    } catch (err) {
      toastError(err);
    }
  };
  const kick = async (user) => {
    const ok = await confirmAction({ title: `Kick ${user.name}?`, text: 'Every connection of this user is closed on every msg_server. They may log in again.', action: 'Kick' });
    if (!ok) return;
    try {
      const { closed } = await api('POST', `/users/${user.id}/kick`);
      toast('ok', `Closed ${closed} connection${closed === 1 ? '' : 's'} of ${user.name}.`);
      list.reload();
    } catch (err) {
      toastError(err);
    }
  };

  const page = list.data;
  return html`<div class="stack">
    <div class="toolbar">
      <${SearchForm} value=${search} placeholder="Search name, nick, phone, e-mail…" onSearch=${setSearch} testid="user-search" />
      <select value=${departId} onChange=${(e) => setDepartId(e.currentTarget.value)} aria-label="Department">
        <option value="">All departments</option>
        ${departments.map((d) => html`<option key=${d.id} value=${String(d.id)}>${d.name}</option>`)}
      </select>
      <span class="spacer"></span>
      ${canWrite()
        ? html`<button class="secondary outline" onClick=${() => setDialog({ kind: 'import' })}>Import…</button>
            <button onClick=${() => setDialog({ kind: 'create' })} data-testid="user-create">New user</button>`
        : null}
    </div>
    <${LoadError} error=${list.error} retry=${list.reload} />
    <article class="card flush">
      <div class="table-wrap"><table class="striped">
        <thead><tr><th>ID</th><th>Account</th><th>Nickname</th><th>Department</th><th>Status</th><th>Updated</th>${canWrite() ? html`<th class="actions">Actions</th>` : null}</tr></thead>
        <tbody>
          ${(page?.items ?? []).map((u) => html`<tr key=${u.id} data-testid="user-row" data-user-name=${u.name} data-online=${String(Boolean(u.online))} data-disabled=${String(u.disabled)}>
            <td class="muted">${u.id}</td>
            <td><strong>${u.name}</strong>${u.realName ? html`<div class="muted small">${u.realName}</div>` : null}</td>
            <td>${u.nick || html`<span class="muted">—</span>`}</td>
            <td>${departName(u.departId)}</td>
            <td><${Status} user=${u} /></td>
            <td class="small muted">${fromSeconds(u.updated)}</td>
            ${canWrite()
              ? html`<td class="actions">
                  <button class="secondary outline small" onClick=${() => setDialog({ kind: 'edit', user: u })} data-testid="user-edit">Edit</button>
                  <button class="secondary outline small" onClick=${() => setDialog({ kind: 'send', user: u })} data-testid="user-send">Message</button>
                  <button class="secondary outline small" onClick=${() => setDialog({ kind: 'password', user: u })} data-testid="user-password">Password</button>
                  <button class="secondary outline small" disabled=${!u.online} onClick=${() => kick(u)} data-testid="user-kick">Kick</button>
                  ${u.disabled
                    ? html`<button class="outline small" onClick=${() => setDisabled(u, false)} data-testid="user-enable">Enable</button>`
                    : html`<button class="danger outline small" onClick=${() => setDisabled(u, true)} data-testid="user-disable">Disable</button>`}
                </td>`
              : null}
          </tr>`)}
        </tbody>
      </table></div>
      ${page && page.items.length === 0 ? html`<${Empty}>${search ? `No user matches “${search}”.` : 'No users yet.'}<//>` : null}
    </article>
    <${Pager} paging=${paging} page=${page} />
    ${dialog?.kind === 'create' || dialog?.kind === 'edit'
      ? html`<${UserForm} user=${dialog.user} departments=${departments} onClose=${close} onDone=${() => {
          close();
          list.reload();
        }} />`
      : null}
    ${dialog?.kind === 'password' ? html`<${PasswordForm} user=${dialog.user} onClose=${close} />` : null}
    ${dialog?.kind === 'send' ? html`<${SendForm} user=${dialog.user} onClose=${close} />` : null}
    ${dialog?.kind === 'import' ? html`<${ImportForm} onClose=${close} onDone=${list.reload} />` : null}
  </div>`;
}
