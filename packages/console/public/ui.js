// Shared pieces of the console: htm bound to Preact, toasts, a confirm
// dialog, modals, paging, and formatting.
import { h } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import htm from 'htm';
import { session, userName } from './api.js';

export const html = htm.bind(h);

/** Whether the signed-in operator may write (viewers only read). */
export const canWrite = () => session.operator()?.role === 'admin';

// ---- toasts -------------------------------------------------------------
const toastListeners = new Set();
let toastSeq = 0;

/** Shows a short message: kind is 'ok' or 'error'. */
export function toast(kind, text) {
  const item = { id: ++toastSeq, kind, text };
  for (const fn of toastListeners) fn(item);
}

/** Shows an API error as a toast (with the field it names). */
export const toastError = (err) => toast('error', errorText(err));

export function errorText(err) {
  if (!err) return '';
  const field = err.field ? ` (${err.field})` : '';
  return `${err.message ?? String(err)}${field}`;
}

export function Toasts() {
  const [items, setItems] = useState([]);
  useEffect(() => {
    const add = (item) => {
      setItems((list) => [...list.slice(-3), item]);
      setTimeout(() => setItems((list) => list.filter((x) => x.id !== item.id)), item.kind === 'error' ? 8000 : 4000);
    };
    toastListeners.add(add);
    return () => toastListeners.delete(add);
  }, []);
  return html`<div class="toasts" aria-live="polite">
    ${items.map((t) => html`<div key=${t.id} class=${`toast toast-${t.kind}`} data-testid="toast" data-kind=${t.kind}>${t.text}</div>`)}
  </div>`;
}

// ---- confirm ------------------------------------------------------------
let askConfirm = null;

/** Asks before a destructive action; resolves true when confirmed. */
export function confirmAction({ title, text, action = 'Confirm', danger = true }) {
  return askConfirm ? askConfirm({ title, text, action, danger }) : Promise.resolve(window.confirm(text));
}

export function ConfirmHost() {
  const [ask, setAsk] = useState(null);
  useEffect(() => {
    askConfirm = (q) => new Promise((resolve) => setAsk({ ...q, resolve }));
    return () => (askConfirm = null);
  }, []);
  if (!ask) return null;
  const done = (ok) => {
    ask.resolve(ok);
    setAsk(null);
  };
  return html`<${Modal} title=${ask.title} onClose=${() => done(false)} testid="confirm-dialog">
    <p>${ask.text}</p>
    <footer>
      <button class="secondary" onClick=${() => done(false)} data-testid="confirm-cancel">Cancel</button>
      <button class=${ask.danger ? 'danger' : ''} onClick=${() => done(true)} data-testid="confirm-ok">${ask.action}</button>
    </footer>
  <//>`;
}

// ---- modal --------------------------------------------------------------
export function Modal({ title, onClose, children, testid, wide = false }) {
  useEffect(() => {
    const onKey = (e) => e.key === 'Escape' && onClose();
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, [onClose]);
  return html`<dialog open data-testid=${testid} onClick=${(e) => e.target === e.currentTarget && onClose()}>
    <article class=${wide ? 'wide' : ''}>
      <header>
        <button aria-label="Close" rel="prev" onClick=${onClose}></button>
        <strong>${title}</strong>
      </header>
      ${children}
    </article>
  </dialog>`;
}

// ---- data loading -------------------------------------------------------
/** Runs `load` now and when `deps` change; { data, error, loading, reload }. */
export function useLoad(load, deps) {
  const [state, setState] = useState({ data: null, error: null, loading: true });
  const seq = useRef(0);
  const reload = useCallback(async () => {
    const mine = ++seq.current;
    setState((s) => ({ ...s, loading: true }));
    try {
      const data = await load();
      if (mine === seq.current) setState({ data, error: null, loading: false });
    } catch (error) {
      if (mine === seq.current) setState((s) => ({ data: s.data, error, loading: false }));
    }
  }, deps);
  useEffect(() => {
    reload();
  }, [reload]);
  return { ...state, reload };
}

/** Calls `fn` every `ms` while mounted (and the tab is visible). */
export function useInterval(fn, ms) {
  const saved = useRef(fn);
  saved.current = fn;
  useEffect(() => {
    const timer = setInterval(() => document.visibilityState === 'visible' && saved.current(), ms);
    return () => clearInterval(timer);
  }, [ms]);
}

/** Cursor paging: { cursor, next(nextCursor), prev(), first(), pageNo }. */
export function useCursor() {
  const [stack, setStack] = useState(['']);
  return {
    cursor: stack[stack.length - 1],
    pageNo: stack.length,
    next: (c) => setStack((s) => [...s, c]),
    prev: () => setStack((s) => (s.length > 1 ? s.slice(0, -1) : s)),
    first: () => setStack(['']),
  };
}

export function Pager({ paging, page }) {
  if (!page) return null;
  const total = page.total >= 0 ? ` · ${page.total} in all` : '';
  return html`<nav class="pager">
    <span class="muted">Page ${paging.pageNo}${total}</span>
    <button class="secondary outline small" disabled=${paging.pageNo <= 1} onClick=${paging.prev}>‹ Previous</button>
    <button class="secondary outline small" disabled=${!page.nextCursor} onClick=${() => paging.next(page.nextCursor)}>Next ›</button>
  </nav>`;
}

/** The error of a failed load, with a retry button. */
export function LoadError({ error, retry }) {
  if (!error) return null;
  return html`<div class="notice notice-error" role="alert">${errorText(error)} <button class="secondary outline small" onClick=${retry}>Retry</button></div>`;
}

export function Empty({ children }) {
  return html`<div class="empty">${children}</div>`;
}

/** A user's account name by id, resolved through the API (cached). */
export function UserName({ id }) {
  const [name, setName] = useState(id ? `#${id}` : 'system');
  useEffect(() => {
    let live = true;
    userName(id).then((n) => live && setName(n));
    return () => (live = false);
  }, [id]);
  return html`<span title=${`user ${id}`}>${name}</span>`;
}

// ---- formatting ---------------------------------------------------------
const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
export const fromMs = (ms) => (ms ? dateTime.format(new Date(ms)) : '—');
export const fromSeconds = (s) => (s ? dateTime.format(new Date(s * 1000)) : '—');

/** A form's fields as an object; empty strings left out. */
export function formValues(form) {
  const out = {};
  for (const [k, v] of new FormData(form).entries()) if (typeof v === 'string' && v.trim() !== '') out[k] = v.trim();
  return out;
}

/** A submit handler: runs `action`, shows its error in the form's state, keeps the button busy meanwhile. */
export function useSubmit(action) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const onSubmit = async (e) => {
    e.preventDefault();
    if (busy) return;
    setBusy(true);
    setError(null);
    try {
      await action(e.currentTarget);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, onSubmit, setError };
}

export function FormError({ error }) {
  return error ? html`<p class="form-error" role="alert" data-testid="form-error">${errorText(error)}</p>` : null;
}

/** A list's search box: submitting sets the search text (trimmed). */
export function SearchForm({ value, placeholder, onSearch, testid }) {
  return html`<form class="search" role="search" onSubmit=${(e) => {
    e.preventDefault();
    onSearch(String(new FormData(e.currentTarget).get('search') ?? '').trim());
  }}>
    <input type="search" name="search" placeholder=${placeholder} value=${value} data-testid=${testid} />
    <button type="submit" class="secondary outline">Search</button>
  </form>`;
}
