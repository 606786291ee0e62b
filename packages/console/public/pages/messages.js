// Messages: send one as the system (or as a user) to a user or a group, search
// stored history by conversation, sender and time, and recall any message.
import { useEffect, useState } from 'preact/hooks';
import { api, resolveUserId, userName } from '../api.js';
import { Empty, FormError, LoadError, Pager, UserName, canWrite, confirmAction, formValues, fromMs, html, toast, toastError, useCursor, useLoad, useSubmit } from '../ui.js';

/** A datetime-local value as Unix milliseconds (undefined when empty). */
const toMs = (value) => (value ? new Date(value).getTime() : undefined);

/**
 * The searchable conversation (si_<idA>_<idB> or sg_<id>) of a message id: single-chat
 * message ids name the two accounts, and one of them is the recipient.
 */
async function conversationOf(messageId, toUserId) {
  const conversation = messageId.slice(0, messageId.lastIndexOf(':'));
  if (conversation.startsWith('sg_')) return conversation;
  const toName = await userName(toUserId);
  const pair = conversation.slice(3);
  let other = null;
  if (pair.startsWith(`${toName}_`)) other = pair.slice(toName.length + 1);
  else if (pair.endsWith(`_${toName}`)) other = pair.slice(0, -toName.length - 1);
  if (!other) return '';
  const otherId = await resolveUserId(other);
  return `si_${Math.min(toUserId, otherId)}_${Math.max(toUserId, otherId)}`;
}

function SendCard({ onSent }) {
  const [target, setTarget] = useState('user');
  const { busy, error, onSubmit } = useSubmit(async (form) => {
    const values = formValues(form);
    const to = target === 'group' ? { groupId: Number(values.to) } : { userId: await resolveUserId(values.to) };
    if (target === 'group' && !Number.isInteger(to.groupId)) throw new Error('Enter the group id.');
    const body = { to, text: values.text ?? '' };
    if (values.from) body.fromId = await resolveUserId(values.from);
    const sent = await api('POST', '/messages', { body });
    toast('ok', `Sent: ${sent.messageId}`);
    form.querySelector('textarea').value = '';
    onSent(sent.messageId, await conversationOf(sent.messageId, to.userId).catch(() => ''));
  });
  return html`<article class="card">
    <h3>Send a message</h3>
    <form onSubmit=${onSubmit} data-testid="send-message-form">
      <div class="grid">
        <label>To
          <div class="joined">
            <select value=${target} onChange=${(e) => setTarget(e.currentTarget.value)} aria-label="Recipient kind" data-testid="send-target-kind">
              <option value="user">user</option><option value="group">group</option>
            </select>
            <input name="to" required placeholder=${target === 'group' ? 'group id' : 'account name or id'} data-testid="send-to" />
          </div>
        </label>
        <label>From <input name="from" placeholder="the system account" data-testid="send-from" /></label>
      </div>
      <label>Text <textarea name="text" rows="2" required maxlength="16384" data-testid="send-text"></textarea></label>
      <${FormError} error=${error} />
      <button type="submit" aria-busy=${busy} disabled=${busy} data-testid="send-submit">Send</button>
    </form>
  </article>`;
}

export function Messages({ params }) {
  const [filter, setFilter] = useState({ conversation: params.get('conversation') ?? '', from: '', since: '', until: '' });
  const paging = useCursor();
  const [highlight, setHighlight] = useState('');
  const searching = Boolean(filter.conversation || filter.from);
  const list = useLoad(async () => {
    // The API searches within a conversation or a sender's messages, never everything.
    if (!searching) return null;
    const query = { conversation: filter.conversation, since: toMs(filter.since), until: toMs(filter.until), cursor: paging.cursor, limit: 25 };
    if (filter.from) query.fromId = await resolveUserId(filter.from);
    return api('GET', '/messages', { query });
  }, [filter, paging.cursor]);
  useEffect(() => paging.first(), [filter]);

  const recall = async (m) => {
    if (!(await confirmAction({ title: 'Recall this message?', text: `“${m.text.slice(0, 120)}” is withdrawn for everyone in the conversation.`, action: 'Recall' }))) return;
    try {
      await api('POST', `/messages/${encodeURIComponent(m.messageId)}/recall`);
      toast('ok', 'The message was recalled.');
      list.reload();
    } catch (err) {
      toastError(err);
    }
  };

  const page = list.data;
  return html`<div class="stack">
    ${canWrite()
      ? html`<${SendCard} onSent=${(messageId, conversation) => {
          setHighlight(messageId);
          setFilter({ conversation, from: '', since: '', until: '' });
        }} />`
      : null}
    <article class="card">
      <h3>Search history</h3>
      <form class="filters" onSubmit=${(e) => {
        e.preventDefault();
        const v = formValues(e.currentTarget);
        setFilter({ conversation: v.conversation ?? '', from: v.from ?? '', since: v.since ?? '', until: v.until ?? '' });
      }}>
        <label>Conversation <input name="conversation" value=${filter.conversation} placeholder="si_1_2 or sg_7" pattern="(si_[0-9]+_[0-9]+|sg_[0-9]+)" title="si_<userA>_<userB> or sg_<groupId>" data-testid="search-conversation" /></label>
        <label>Sender <input name="from" value=${filter.from} placeholder="account name or id" /></label>
        <label>Since <input name="since" type="datetime-local" step="1" value=${filter.since} /></label>
        <label>Until <input name="until" type="datetime-local" step="1" value=${filter.until} /></label>
        <button type="submit" class="secondary" data-testid="search-submit">Search</button>
      </form>
    </article>
    <${LoadError} error=${list.error} retry=${list.reload} />
    <article class="card flush">
      <div class="table-wrap"><table class="striped">
        <thead><tr><th>Sent</th><th>Conversation</th><th>From</th><th>Message</th>${canWrite() ? html`<th class="actions"></th>` : null}</tr></thead>
        <tbody>
          ${(page?.items ?? []).map((m) => html`<tr key=${m.messageId} data-testid="message-row" data-message-id=${m.messageId} data-recalled=${String(m.recalled)} class=${m.messageId === highlight ? 'highlight' : ''}>
            <td class="small nowrap">${fromMs(m.sentAt)}</td>
            <td><code class="small">${m.messageId.split(':')[0]}</code><div class="muted small">${m.sessionType === 2 ? 'group' : html`to <${UserName} id=${m.toId} />`}</div></td>
            <td>${m.fromName || html`<${UserName} id=${m.fromId} />`}</td>
            <td class="message-text">
              ${m.recalled ? html`<span class="badge badge-amber" data-testid="recalled-badge">recalled</span> ` : null}
              <span class=${m.recalled ? 'struck' : ''}>${m.kind === 'text' || !m.kind ? m.text : html`<span class="muted">[${m.kind}]</span> ${m.text.slice(0, 80)}`}</span>
            </td>
            ${canWrite()
              ? html`<td class="actions">${m.recalled ? null : html`<button class="danger outline small" onClick=${() => recall(m)} data-testid="message-recall">Recall</button>`}</td>`
              : null}
          </tr>`)}
        </tbody>
      </table></div>
      ${page && page.items.length === 0 ? html`<${Empty}>No messages match.<//>` : null}
      ${searching ? null : html`<${Empty}>Enter a conversation (${'si_<userId>_<userId>'} or ${'sg_<groupId>'}) or a sender to see messages.<//>`}
    </article>
    <${Pager} paging=${paging} page=${page} />
  </div>`;
}
