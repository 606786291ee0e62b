// Departments (create, rename, move, delete) and groups (list, create, members,
// transfer, dismiss). Group changes go through the API as the system, so
// members' clients are told.
import { useEffect, useState } from 'preact/hooks';
import { api, resolveUserId } from '../api.js';
import { Empty, FormError, LoadError, Modal, Pager, SearchForm, UserName, canWrite, confirmAction, formValues, fromSeconds, html, toast, toastError, useCursor, useLoad, useSubmit } from '../ui.js';

function DepartmentForm({ department, departments, onDone, onClose }) {
  const editing = Boolean(department);
  const { busy, error, onSubmit } = useSubmit(async (form) => {
    const values = formValues(form);
    const body = { name: values.name ?? '', parentId: Number(values.parentId ?? 0), priority: Number(values.priority ?? 0) };
    const saved = editing ? await api('PATCH', `/departments/${department.id}`, { body }) : await api('POST', '/departments', { body });
    toast('ok', editing ? `Saved ${saved.name}.` : `Created department ${saved.name}.`);
    onDone();
  });
  return html`<${Modal} title=${editing ? `Edit ${department.name}` : 'New department'} onClose=${onClose} testid="department-form">
    <form onSubmit=${onSubmit}>
      <label>Name <input name="name" required maxlength="64" value=${department?.name ?? ''} data-testid="department-form-name" /></label>
      <div class="grid">
        <label>Parent
          <select name="parentId" value=${String(department?.parentId ?? 0)}>
            <option value="0">— top level —</option>
            ${departments.filter((d) => d.id !== department?.id).map((d) => html`<option key=${d.id} value=${String(d.id)}>${d.name}</option>`)}
          </select>
        </label>
        <label>Priority <input name="priority" type="number" min="0" step="1" value=${String(department?.priority ?? 0)} /></label>
      </div>
      <${FormError} error=${error} />
      <footer>
        <button type="button" class="secondary" onClick=${onClose}>Cancel</button>
        <button type="submit" aria-busy=${busy} disabled=${busy} data-testid="department-form-submit">${editing ? 'Save' : 'Create'}</button>
      </footer>
    </form>
  <//>`;
}

export function Departments() {
  const list = useLoad(() => api('GET', '/departments').then((d) => d.items), []);
  const [dialog, setDialog] = useState(null);
  const departments = list.data ?? [];
  const name = (id) => (id ? (departments.find((d) => d.id === id)?.name ?? `#${id}`) : '—');
  const remove = async (d) => {
    if (!(await confirmAction({ title: `Delete ${d.name}?`, text: 'Only an empty department (no users, no sub-departments) can be deleted.', action: 'Delete' }))) return;
    try {
      await api('DELETE', `/departments/${d.id}`);
      toast('ok', `Deleted ${d.name}.`);
      list.reload();
    } catch (err) {
      toastError(err);
    }
  };
  const done = () => {
    setDialog(null);
    list.reload();
  };
  return html`<div class="stack">
    <div class="toolbar">
      <span class="muted">${departments.length} department${departments.length === 1 ? '' : 's'}</span>
      <span class="spacer"></span>
      ${canWrite() ? html`<button onClick=${() => setDialog({})} data-testid="department-create">New department</button>` : null}
    </div>
    <${LoadError} error=${list.error} retry=${list.reload} />
    <article class="card flush">
      <div class="table-wrap"><table class="striped">
        <thead><tr><th>ID</th><th>Name</th><th>Parent</th><th>Priority</th><th>Updated</th>${canWrite() ? html`<th class="actions">Actions</th>` : null}</tr></thead>
        <tbody>
          ${departments.map((d) => html`<tr key=${d.id} data-testid="department-row">
            <td class="muted">${d.id}</td>
            <td><strong>${d.name}</strong></td>
            <td>${name(d.parentId)}</td>
            <td>${d.priority}</td>
            <td class="small muted">${fromSeconds(d.updated)}</td>
            ${canWrite()
              ? html`<td class="actions">
                  <button class="secondary outline small" onClick=${() => setDialog({ department: d })}>Edit</button>
                  <button class="danger outline small" onClick=${() => remove(d)}>Delete</button>
                </td>`
              : null}
          </tr>`)}
        </tbody>
      </table></div>
      ${list.data && departments.length === 0 ? html`<${Empty}>No departments yet.<//>` : null}
    </article>
    ${dialog ? html`<${DepartmentForm} department=${dialog.department} departments=${departments} onClose=${() => setDialog(null)} onDone=${done} />` : null}
  </div>`;
}

/** "alice, bob, 42" → user ids. */
async function userIds(text) {
  const parts = String(text ?? '').split(/[\s,;]+/).filter(Boolean);
  const ids = [];
  for (const part of parts) ids.push(await resolveUserId(part));
  return [...new Set(ids)];
}

function GroupForm({ onDone, onClose }) {
  const { busy, error, onSubmit } = useSubmit(async (form) => {
    const values = formValues(form);
    const body = { name: values.name ?? '', ownerId: await resolveUserId(values.owner), memberIds: await userIds(values.members) };
    if (values.description) body.description = values.description;
    if (values.memberLimit) body.memberLimit = Number(values.memberLimit);
    const group = await api('POST', '/groups', { body });
    toast('ok', `Created group ${group.name} (id ${group.id}).`);
    onDone();
  });
  return html`<${Modal} title="New group" onClose=${onClose} testid="group-form">
    <form onSubmit=${onSubmit}>
      <label>Name <input name="name" required maxlength="64" data-testid="group-form-name" /></label>
      <div class="grid">
        <label>Owner (account name or id) <input name="owner" required data-testid="group-form-owner" /></label>
        <label>Member limit <input name="memberLimit" type="number" min="2" max="100000" placeholder="default" /></label>
      </div>
      <label>Members (names or ids, comma-separated) <input name="members" data-testid="group-form-members" /></label>
      <label>Description <textarea name="description" rows="2" maxlength="1024"></textarea></label>
      <${FormError} error=${error} />
      <footer>
        <button type="button" class="secondary" onClick=${onClose}>Cancel</button>
        <button type="submit" aria-busy=${busy} disabled=${busy} data-testid="group-form-submit">Create group</button>
      </footer>
    </form>
  <//>`;
}

function Members({ groupId, onChanged, onClose }) {
  const detail = useLoad(() => api('GET', `/groups/${groupId}`), [groupId]);
  const group = detail.data?.group;
  const run = async (what, call) => {
    try {
      await call();
      toast('ok', what);
      detail.reload();
      onChanged();
    } catch (err) {
      toastError(err);
    }
  };
  const { busy, error, onSubmit } = useSubmit(async (form) => {
    const memberIds = await userIds(new FormData(form).get('add'));
    if (memberIds.length === 0) return;
    await api('POST', `/groups/${groupId}/members`, { body: { memberIds } });
    form.reset();
    toast('ok', `Added ${memberIds.length} member${memberIds.length === 1 ? '' : 's'}.`);
    detail.reload();
    onChanged();
  });
  return html`<${Modal} title=${group ? `Members of ${group.name}` : 'Members'} onClose=${onClose} testid="group-members" wide>
    <${LoadError} error=${detail.error} retry=${detail.reload} />
    ${group
      ? html`<p class="muted small">${group.memberCount} of at most ${group.memberLimit} members · owner <${UserName} id=${group.ownerId} /></p>
          <div class="table-wrap member-list"><table class="striped">
            <tbody>
              ${detail.data.memberIds.map((id) => html`<tr key=${id}>
                <td class="muted">${id}</td>
                <td><${UserName} id=${id} /> ${id === group.ownerId ? html`<span class="badge badge-blue">owner</span>` : null}</td>
                ${canWrite()
                  ? html`<td class="actions">
                      ${id !== group.ownerId ? html`<button class="secondary outline small" onClick=${() => run('The owner was changed.', () => api('POST', `/groups/${groupId}/transfer`, { body: { ownerId: id } }))}>Make owner</button>` : null}
                      ${id !== group.ownerId ? html`<button class="danger outline small" onClick=${() => run('Removed.', () => api('DELETE', `/groups/${groupId}/members`, { body: { memberIds: [id] } }))}>Remove</button>` : null}
                    </td>`
                  : null}
              </tr>`)}
            </tbody>
          </table></div>
          ${canWrite()
            ? html`<form class="inline-form" onSubmit=${onSubmit}>
                <input name="add" placeholder="Add members: names or ids" aria-label="Add members" />
                <button type="submit" aria-busy=${busy} disabled=${busy}>Add</button>
              </form>
              <${FormError} error=${error} />`
            : null}`
      : null}
  <//>`;
}

export function Groups() {
  const [search, setSearch] = useState('');
  const paging = useCursor();
  const list = useLoad(() => api('GET', '/groups', { query: { search, cursor: paging.cursor, limit: 25 } }), [search, paging.cursor]);
  const [dialog, setDialog] = useState(null);
  useEffect(() => paging.first(), [search]);
  const dismiss = async (g) => {
    if (!(await confirmAction({ title: `Dismiss ${g.name}?`, text: 'The group is removed for all its members.', action: 'Dismiss' }))) return;
    try {
      await api('DELETE', `/groups/${g.id}`);
      toast('ok', `Dismissed ${g.name}.`);
      list.reload();
    } catch (err) {
      toastError(err);
    }
  };
  const page = list.data;
  return html`<div class="stack">
    <div class="toolbar">
      <${SearchForm} value=${search} placeholder="Search groups…" onSearch=${setSearch} />
      <span class="spacer"></span>
      ${canWrite() ? html`<button onClick=${() => setDialog({ kind: 'create' })} data-testid="group-create">New group</button>` : null}
    </div>
    <${LoadError} error=${list.error} retry=${list.reload} />
    <article class="card flush">
      <div class="table-wrap"><table class="striped">
        <thead><tr><th>ID</th><th>Name</th><th>Owner</th><th>Members</th><th>Type</th><th>Updated</th><th class="actions">Actions</th></tr></thead>
        <tbody>
          ${(page?.items ?? []).map((g) => html`<tr key=${g.id} data-testid="group-row">
            <td class="muted">${g.id}</td>
            <td><strong>${g.name}</strong>${g.description ? html`<div class="muted small">${g.description}</div>` : null}</td>
            <td><${UserName} id=${g.ownerId} /></td>
            <td>${g.memberCount} <span class="muted small">/ ${g.memberLimit}</span></td>
            <td>${g.type === 2 ? 'temporary' : 'normal'}</td>
            <td class="small muted">${fromSeconds(g.updated)}</td>
            <td class="actions">
              <button class="secondary outline small" onClick=${() => setDialog({ kind: 'members', id: g.id })}>Members</button>
              <a class="secondary outline small" role="button" href=${`#/messages?conversation=sg_${g.id}`}>History</a>
              ${canWrite() ? html`<button class="danger outline small" onClick=${() => dismiss(g)}>Dismiss</button>` : null}
            </td>
          </tr>`)}
        </tbody>
      </table></div>
      ${page && page.items.length === 0 ? html`<${Empty}>${search ? `No group matches “${search}”.` : 'No groups yet.'}<//>` : null}
    </article>
    <${Pager} paging=${paging} page=${page} />
    ${dialog?.kind === 'create'
      ? html`<${GroupForm} onClose=${() => setDialog(null)} onDone=${() => {
          setDialog(null);
          list.reload();
        }} />`
      : null}
    ${dialog?.kind === 'members' ? html`<${Members} groupId=${dialog.id} onClose=${() => setDialog(null)} onChanged=${list.reload} />` : null}
  </div>`;
}
