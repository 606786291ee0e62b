// The chat page: talks to msg_server's WebSocket front (docs/fronts/websocket.md).
// Every frame is an IM.Ws.WebSocketMessage whose body is the command's own
// message; the schema is loaded at start-up from proto/IM.Ws.proto.
/* global protobuf */
(function () {
  'use strict';

  const HEARTBEAT_MS = 30000;
  const REQUEST_TIMEOUT_MS = 10000;
  const TYPING_IDLE_MS = 3000; // we send "stopped" after this long without a key
  const TYPING_SHOW_MS = 10000; // a peer's indicator goes away if no "stopped" comes
  const FIRST_SYNC_WINDOW = 200; // on the first connect, the newest entries we load
  const SYNC_PAGE = 200;
  const MAX_BACKOFF_MS = 30000;
  const TEXT = 1;
  const TYPE_NAMES = { 2: 'image', 3: 'voice', 4: 'video', 5: 'file', 6: 'location', 7: 'sticker', 8: 'custom' };

  const $ = (id) => document.getElementById(id);
  const utf8 = { encode: (s) => new TextEncoder().encode(s), decode: (b) => new TextDecoder().decode(b) };

  // ---- schema -------------------------------------------------------------
  let T; // message types by name
  let Cmd; // CommandType name -> number
  let Err; // ErrorCode name -> number
  let ErrName; // ErrorCode number -> name
  const RESPONSE_TYPES = {};
  const PUSH_TYPES = {};

  const schemaReady = new protobuf.Root().load('proto/IM.Ws.proto', { keepCase: true }).then((root) => {
    T = new Proxy({}, { get: (_, name) => root.lookupType('IM.Ws.' + name) });
    Cmd = root.lookupEnum('IM.Ws.CommandType').values;
    Err = root.lookupEnum('IM.Ws.ErrorCode').values;
    ErrName = root.lookupEnum('IM.Ws.ErrorCode').valuesById;
    Object.assign(RESPONSE_TYPES, {
      [Cmd.CMD_HEARTBEAT_RSP]: 'HeartbeatResponse',
      [Cmd.CMD_AUTH_RSP]: 'AuthResponse',
      [Cmd.CMD_SEND_MSG_RSP]: 'SendMessageResponse',
      [Cmd.CMD_REVOKE_MSG_RSP]: 'RevokeMessageResponse',
      [Cmd.CMD_SYNC_RSP]: 'SyncResponse',
      [Cmd.CMD_READ_RECEIPT_RSP]: 'ReadReceiptResponse',
      [Cmd.CMD_TYPING_STATUS_RSP]: 'TypingStatusResponse',
    });
    Object.assign(PUSH_TYPES, {
      [Cmd.CMD_PUSH_MSG]: 'PushMessage',
      [Cmd.CMD_REVOKE_MSG_PUSH]: 'RevokeMessagePush',
      [Cmd.CMD_READ_RECEIPT_PUSH]: 'ReadReceiptPush',
      [Cmd.CMD_TYPING_STATUS_PUSH]: 'TypingStatusPush',
      [Cmd.CMD_KICK_NOTIFY]: 'ErrorNotice',
    });
  });

  // ---- state --------------------------------------------------------------
  let session = null; // { me, password, token }: set while signed in
  let ws = null;
  let authed = false;
  let nextSequence = 1;
  const pending = new Map(); // request sequence -> { resolve, reject, timer }
  let heartbeatTimer = null;
  let reconnectTimer = null;
  let reconnectAttempt = 0;
  let lastSeq = 0; // the newest of our own seqs we have seen
  let stopReconnecting = false;

  const conversations = new Map(); // conversation_id -> conversation
  let openId = null;
  let typingSentTo = null; // conversation we last told "typing"
  let typingIdleTimer = null;

  // ---- ids ----------------------------------------------------------------
  function bytesBefore(a, b) {
    const x = utf8.encode(a);
    const y = utf8.encode(b);
    for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] < y[i];
    return x.length < y.length;
  }
  const singleId = (a, b) => (bytesBefore(a, b) ? `si_${a}_${b}` : `si_${b}_${a}`);
  const msgNo = (messageId) => Number(String(messageId).slice(String(messageId).lastIndexOf(':') + 1)) || 0;

  function peerFromId(id) {
    const rest = id.slice(3);
    const me = session.me;
    if (rest.startsWith(me + '_') && rest.length > me.length + 1) return rest.slice(me.length + 1);
    if (rest.endsWith('_' + me)) return rest.slice(0, rest.length - me.length - 1);
    return rest;
  }

  function randomId() {
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  }

  function conversation(id, hint) {
    let c = conversations.get(id);
    if (!c) {
      const group = id.startsWith('sg_');
      c = {
        id,
        group,
        groupId: group ? id.slice(3) : '',
        peer: group ? '' : (hint && hint.peer) || peerFromId(id),
        messages: new Map(), // key (message_id, or "local:<client_msg_id>" until answered) -> message
        unread: 0,
        lastActivity: 0,
        typing: new Map(), // user -> hide timer
        readReported: 0, // highest msg number we sent a read receipt for
      };
      conversations.set(id, c);
    }
    return c;
  }
  const title = (c) => (c.group ? `Group ${c.groupId}` : c.peer);

  // ---- wire ---------------------------------------------------------------
  function sendFrame(command, sequence, typeName, body) {
    const type = T[typeName];
    const payload = type.encode(type.fromObject(body)).finish();
    const frame = T.WebSocketMessage.fromObject({ command, sequence, body: payload, timestamp: Date.now() });
    ws.send(T.WebSocketMessage.encode(frame).finish());
  }

  function request(command, typeName, body, timeoutMs = REQUEST_TIMEOUT_MS) {
    if (!ws || ws.readyState !== WebSocket.OPEN) return Promise.reject(new Error('not connected'));
    const sequence = nextSequence++ >>> 0;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        pending.delete(sequence);
        reject(new Error('no answer'));
      }, timeoutMs);
      pending.set(sequence, { resolve, reject, timer });
      sendFrame(command, sequence, typeName, body);
    });
  }

  function onFrame(event) {
    let frame;
    try {
      frame = T.WebSocketMessage.decode(new Uint8Array(event.data));
    } catch (err) {
      console.warn('undecodable frame', err);
      return;
    }
    const responseType = RESPONSE_TYPES[frame.command];
    if (responseType) {
      const waiter = pending.get(frame.sequence);
      if (!waiter) return;
      pending.delete(frame.sequence);
      clearTimeout(waiter.timer);
      try {
        waiter.resolve(T[responseType].decode(frame.body));
      } catch (err) {
        waiter.reject(err);
      }
      return;
    }
    const pushType = PUSH_TYPES[frame.command];
    if (!pushType) return;
    const push = T[pushType].decode(frame.body);
    switch (frame.command) {
      case Cmd.CMD_PUSH_MSG:
        applyEntry(push, { live: true });
        if (ws) sendFrame(Cmd.CMD_MSG_ACK, 0, 'MessageAck', { message_id: push.message_id, seq: push.seq });
        break;
      case Cmd.CMD_REVOKE_MSG_PUSH:
        markRecalled(push.conversation_id, push.message_id);
        break;
      case Cmd.CMD_READ_RECEIPT_PUSH:
        onReadReceipt(push);
        break;
      case Cmd.CMD_TYPING_STATUS_PUSH:
        onTyping(push);
        break;
      case Cmd.CMD_KICK_NOTIFY:
        onKick(push);
        break;
    }
  }

  // ---- connection ---------------------------------------------------------
  async function getJson(url, init) {
    const res = await fetch(url, init);
    let body = null;
    try {
      body = await res.json();
    } catch {
      /* not JSON */
    }
    if (!body) throw new Error(`${url.split('?')[0]}: HTTP ${res.status}`);
    return body;
  }

  async function fetchToken(name, password) {
    const body = await getJson('../auth/token', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user_id: name, password }),
    });
    if (body.code !== 0 || !body.token) {
      const err = new Error(body.msg || body.error || 'wrong user name or password');
      err.fatal = true;
      throw err;
    }
    return body.token;
  }

  async function fetchWsUrl() {
    const body = await getJson('../msg_server?protocol=ws');
    if (body.code !== 0 || !body.url) throw new Error(body.msg || 'no chat server available');
    return body.url;
  }

  function openSocket(url) {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url);
      socket.binaryType = 'arraybuffer';
      socket.onopen = () => resolve(socket);
      socket.onerror = () => reject(new Error('cannot reach the chat server'));
    });
  }

  async function connect() {
    clearTimeout(reconnectTimer);
    reconnectTimer = null;
    if (!session || ws) return;
    setStatus('connecting', 'connecting…');
    const current = session;
    try {
      const fresh = !current.token;
      if (fresh) current.token = await fetchToken(current.me, current.password);
      const socket = await openSocket(await fetchWsUrl());
      if (session !== current) return socket.close(1000);
      ws = socket;
      socket.onmessage = onFrame;
      socket.onclose = () => onSocketClosed(socket);
      const auth = await request(Cmd.CMD_AUTH_REQ, 'AuthRequest', { user_id: current.me, token: current.token, platform: 'Web' });
      if (auth.error_code === Err.ERR_TOKEN_EXPIRED || (auth.error_code === Err.ERR_AUTH_FAILED && !fresh)) {
        current.token = null; // a new token on the next attempt
        throw new Error('session expired, signing in again');
      }
      if (auth.error_code !== 0) {
        const err = new Error(`sign-in refused: ${auth.error_msg || ErrName[auth.error_code]}`);
        err.fatal = true;
        throw err;
      }
      authed = true;
      reconnectAttempt = 0;
      setStatus('online', 'online');
      heartbeatTimer = setInterval(heartbeat, HEARTBEAT_MS);
      await sync(lastSeq > 0 ? lastSeq + 1 : Math.max(1, Number(auth.max_seq) - FIRST_SYNC_WINDOW + 1), lastSeq > 0);
      flushOutbox();
    } catch (err) {
      if (session !== current) return;
      if (err.fatal) return signOut(err.message);
      notice(err.message);
      if (ws) ws.close(1000);
      else scheduleReconnect();
    }
  }

  function onSocketClosed(socket) {
    if (socket !== ws) return;
    ws = null;
    authed = false;
    clearInterval(heartbeatTimer);
    for (const [, waiter] of pending) {
      clearTimeout(waiter.timer);
      waiter.reject(new Error('connection closed'));
    }
    pending.clear();
    typingSentTo = null;
    if (session) scheduleReconnect();
  }

  function scheduleReconnect() {
    if (!session || reconnectTimer || ws) return;
    if (stopReconnecting) return setStatus('offline', 'offline');
    const delay = Math.round(Math.min(MAX_BACKOFF_MS, 1000 * 2 ** reconnectAttempt) * (0.5 + Math.random() / 2));
    reconnectAttempt++;
    setStatus('offline', `offline, retrying in ${Math.ceil(delay / 1000)} s`);
    reconnectTimer = setTimeout(connect, delay);
  }

  async function heartbeat() {
    try {
      await request(Cmd.CMD_HEARTBEAT_REQ, 'HeartbeatRequest', { client_time: Date.now() });
    } catch {
      if (ws) ws.close(4000); // no answer: the connection is dead, reconnect
    }
  }

  function onKick(notice) {
    const why = notice.error_msg || ErrName[notice.error_code] || 'disconnected by the server';
    if (notice.error_code === Err.ERR_TOKEN_EXPIRED) {
      session.token = null; // fetch a fresh one on reconnect
    } else if (notice.error_code === Err.ERR_AUTH_FAILED || notice.error_code === Err.ERR_PERMISSION_DENIED) {
      stopReconnecting = true; // signed in elsewhere or disabled: do not fight over the session
    }
    noticeText(`Disconnected: ${why}`);
  }

  async function sync(minSeq, countUnread) {
    for (;;) {
      const rsp = await request(Cmd.CMD_SYNC_REQ, 'SyncRequest', { min_seq: minSeq, max_seq: 0, limit: SYNC_PAGE });
      if (rsp.error_code !== 0) return notice(`sync failed: ${rsp.error_msg || ErrName[rsp.error_code]}`);
      for (const entry of rsp.messages) applyEntry(entry, { live: countUnread });
      if (!rsp.has_more || rsp.messages.length === 0) return;
      minSeq = Number(rsp.messages[rsp.messages.length - 1].seq) + 1;
    }
  }

  // ---- incoming -----------------------------------------------------------
  function applyEntry(m, { live }) {
    lastSeq = Math.max(lastSeq, Number(m.seq) || 0);
    const extra = m.extra || {};
    if (m.message_type === 0 && extra.event === 'revoke') return markRecalled(m.conversation_id, m.message_id);
    const own = m.sender_id === session.me;
    const c = conversation(m.conversation_id, { peer: own ? m.receiver_id : m.sender_id });
    let msg = c.messages.get(m.message_id);
    if (!msg && own && m.client_msg_id) {
      // Our own message, its answer lost (or still on its way): the same message.
      msg = c.messages.get('local:' + m.client_msg_id);
      if (msg) c.messages.delete('local:' + m.client_msg_id);
    }
    const isNew = !msg;
    msg = Object.assign(msg || {}, {
      key: m.message_id,
      id: m.message_id,
      no: msgNo(m.message_id),
      clientMsgId: m.client_msg_id,
      sender: m.sender_id,
      own,
      type: m.message_type,
      text: m.message_type === TEXT ? utf8.decode(m.content) : `[${TYPE_NAMES[m.message_type] || 'message'}]`,
      time: Number(m.server_time) || Number(m.send_time) || Date.now(),
      recalled: extra.recalled === '1' || (msg && msg.recalled) || false,
      pending: false,
      failed: null,
    });
    c.messages.set(msg.key, msg);
    c.lastActivity = Math.max(c.lastActivity, msg.time);
    if (isNew && !own && live && !(c.id === openId && pageVisible())) c.unread++;
    if (!own) hideTyping(c, m.sender_id);
    render();
  }

  function markRecalled(conversationId, messageId) {
    const c = conversations.get(conversationId);
    const msg = c && c.messages.get(messageId);
    if (!msg || msg.recalled) return;
    msg.recalled = true;
    msg.text = '';
    render();
  }

  function onReadReceipt(p) {
    const c = conversations.get(p.conversation_id);
    if (!c) return;
    if (p.user_id === session.me) {
      c.unread = 0; // read on another device
    } else {
      // The reader's position moved to the highest named message: everything before it is read too.
      const upTo = Math.max(0, ...p.message_ids.map(msgNo));
      for (const msg of c.messages.values()) if (msg.own && msg.no && msg.no <= upTo) msg.read = true;
    }
    render();
  }

  function onTyping(p) {
    if (p.user_id === session.me) return;
    const c = conversation(p.conversation_id);
    if (p.status === 1) {
      clearTimeout(c.typing.get(p.user_id));
      c.typing.set(p.user_id, setTimeout(() => hideTyping(c, p.user_id), TYPING_SHOW_MS));
      render();
    } else {
      hideTyping(c, p.user_id);
    }
  }

  function hideTyping(c, user) {
    if (!c.typing.has(user)) return;
    clearTimeout(c.typing.get(user));
    c.typing.delete(user);
    renderTyping();
  }

  // ---- outgoing -----------------------------------------------------------
  function sendText(c, text) {
    const clientMsgId = randomId();
    const msg = { key: 'local:' + clientMsgId, id: '', no: 0, clientMsgId, sender: session.me, own: true, type: TEXT, text, time: Date.now(), pending: true, failed: null, recalled: false, read: false };
    c.messages.set(msg.key, msg);
    c.lastActivity = msg.time;
    render({ scroll: true });
    if (authed) deliver(c, msg);
  }

  async function deliver(c, msg) {
    msg.pending = true;
    msg.failed = null;
    try {
      const rsp = await request(Cmd.CMD_SEND_MSG_REQ, 'SendMessageRequest', {
        client_msg_id: msg.clientMsgId,
        conversation_id: c.id,
        receiver_id: c.group ? '' : c.peer,
        group_id: c.group ? c.groupId : '',
        message_type: TEXT,
        content: utf8.encode(msg.text),
        send_time: msg.time,
      });
      if (rsp.error_code !== 0) {
        msg.pending = false;
        msg.failed = rsp.error_msg || ErrName[rsp.error_code];
      } else if (c.messages.get(msg.key) === msg) {
        lastSeq = Math.max(lastSeq, Number(rsp.seq) || 0);
        c.messages.delete(msg.key);
        Object.assign(msg, { key: rsp.message_id, id: rsp.message_id, no: msgNo(rsp.message_id), time: Number(rsp.server_time) || msg.time, pending: false });
        c.messages.set(msg.key, msg);
      }
    } catch (err) {
      // Connection lost: it stays pending and goes again (same client_msg_id) after reconnecting.
      if (authed) {
        msg.pending = false;
        msg.failed = err.message;
      }
    }
    render();
  }

  function flushOutbox() {
    for (const c of conversations.values()) for (const msg of c.messages.values()) if (msg.own && msg.pending && !msg.id) deliver(c, msg);
  }

  async function recall(c, msg) {
    try {
      const rsp = await request(Cmd.CMD_REVOKE_MSG_REQ, 'RevokeMessageRequest', { message_id: msg.id, conversation_id: c.id });
      if (rsp.error_code === 0) markRecalled(c.id, msg.id);
      else notice(`Cannot recall: ${rsp.error_code === Err.ERR_PERMISSION_DENIED ? 'not allowed any more' : rsp.error_msg || ErrName[rsp.error_code]}`);
    } catch (err) {
      notice(`Cannot recall: ${err.message}`);
    }
  }

  function sendTyping(conversationId, status) {
    if (!authed) return;
    request(Cmd.CMD_TYPING_STATUS_REQ, 'TypingStatusRequest', { conversation_id: conversationId, status }).catch(() => {});
  }

  function typingStopped() {
    clearTimeout(typingIdleTimer);
    if (typingSentTo) sendTyping(typingSentTo, 0);
    typingSentTo = null;
  }

  function onComposerInput() {
    if (!openId) return;
    if ($('composer-input').value === '') return typingStopped();
    if (typingSentTo !== openId) {
      typingStopped();
      typingSentTo = openId;
      sendTyping(openId, 1);
    }
    clearTimeout(typingIdleTimer);
    typingIdleTimer = setTimeout(typingStopped, TYPING_IDLE_MS);
  }

  function reportRead(c) {
    if (!authed || !pageVisible()) return;
    const unread = [...c.messages.values()].filter((m) => !m.own && m.id && m.no > c.readReported);
    if (unread.length === 0) return;
    const ids = unread.map((m) => m.id);
    c.readReported = Math.max(...unread.map((m) => m.no));
    request(Cmd.CMD_READ_RECEIPT_REQ, 'ReadReceiptRequest', { conversation_id: c.id, message_ids: ids.slice(-100) }).catch(() => {
      c.readReported = 0; // try again on the next render
    });
  }

  // ---- rendering ----------------------------------------------------------
  const pageVisible = () => document.visibilityState === 'visible';
  let renderQueued = false;
  let scrollRequested = false;

  function render(opts) {
    if (opts && opts.scroll) scrollRequested = true;
    if (renderQueued) return;
    renderQueued = true;
    queueMicrotask(() => {
      renderQueued = false;
      const open = conversations.get(openId);
      if (open && pageVisible()) open.unread = 0;
      renderConversations();
      renderMessages();
      renderTyping();
    });
  }

  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(props || {})) {
      if (k.startsWith('data-') || k === 'title' || k === 'type') node.setAttribute(k, v);
      else node[k] = v;
    }
    for (const child of children) if (child != null) node.append(child);
    return node;
  }

  const clock = (ms) => new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  const ordered = (c) => [...c.messages.values()].sort((a, b) => (a.no || Infinity) - (b.no || Infinity) || a.time - b.time);

  function renderConversations() {
    const list = $('conversations');
    const sorted = [...conversations.values()].sort((a, b) => b.lastActivity - a.lastActivity);
    list.replaceChildren(
      ...sorted.map((c) => {
        const last = ordered(c).pop();
        const preview = !last ? 'No messages yet' : last.recalled ? 'message recalled' : (last.own ? 'You: ' : c.group ? `${last.sender}: ` : '') + last.text;
        return el(
          'li',
          { className: 'conversation-item' + (c.id === openId ? ' active' : ''), 'data-testid': 'conversation-item', 'data-conversation-id': c.id, onclick: () => openConversation(c.id) },
          el('span', { className: 'avatar' + (c.group ? ' group' : ''), textContent: (c.group ? '#' : title(c).charAt(0)).toUpperCase() }),
          el('span', { className: 'conversation-text' }, el('span', { className: 'conversation-name', textContent: title(c) }), el('span', { className: 'conversation-preview', textContent: preview })),
          c.unread > 0 ? el('span', { className: 'badge', textContent: String(c.unread), 'data-testid': 'unread-badge' }) : null,
        );
      }),
    );
    const total = [...conversations.values()].reduce((n, c) => n + c.unread, 0);
    document.title = total > 0 ? `(${total}) Chat` : 'Chat';
  }

  function renderMessages() {
    const list = $('messages');
    const c = conversations.get(openId);
    if (!c) return list.replaceChildren(el('li', { className: 'empty', textContent: 'Pick a conversation, or open one with a user name.' }));
    const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
    const msgs = ordered(c);
    list.replaceChildren(...(msgs.length ? msgs.map((m) => renderMessage(c, m)) : [el('li', { className: 'empty', textContent: 'No messages yet. Say hello!' })]));
    if (atBottom || scrollRequested) list.scrollTop = list.scrollHeight;
    scrollRequested = false;
    reportRead(c);
  }

  function renderMessage(c, m) {
    const body = m.recalled
      ? el('div', { className: 'bubble recalled', textContent: 'message recalled', 'data-testid': 'recalled-marker' })
      : el('div', { className: 'bubble', textContent: m.text, 'data-testid': 'message-text' });
    const meta = el('div', { className: 'meta' }, el('time', { textContent: clock(m.time) }));
    if (m.own && !m.recalled) {
      if (m.pending) meta.append(el('span', { className: 'state', textContent: 'sending…' }));
      else if (m.failed) meta.append(el('span', { className: 'state failed', textContent: `not sent (${m.failed})` }), el('button', { className: 'link', type: 'button', textContent: 'Retry', 'data-testid': 'retry-button', onclick: () => deliver(c, m) }));
      else if (m.read) meta.append(el('span', { className: 'state read', textContent: 'read', 'data-testid': 'read-marker' }));
      else meta.append(el('span', { className: 'state', textContent: 'sent' }));
      if (m.id) meta.append(el('button', { className: 'link recall', type: 'button', textContent: 'Recall', title: 'Recall this message', 'data-testid': 'recall-button', onclick: () => recall(c, m) }));
    }
    return el(
      'li',
      { className: 'message' + (m.own ? ' own' : ''), 'data-testid': 'message-item', 'data-message-id': m.id, 'data-client-msg-id': m.clientMsgId || '', 'data-own': String(m.own) },
      c.group && !m.own ? el('div', { className: 'sender', textContent: m.sender }) : null,
      body,
      meta,
    );
  }

  function renderTyping() {
    const c = conversations.get(openId);
    const who = c ? [...c.typing.keys()] : [];
    $('typing').textContent = who.length === 0 ? '' : who.length === 1 ? `${who[0]} is typing…` : `${who.join(', ')} are typing…`;
  }

  function setStatus(state, text) {
    const s = $('connection-status');
    s.dataset.state = state;
    s.textContent = text;
    const enabled = Boolean(openId);
    $('composer-input').disabled = !enabled;
    document.querySelector('#composer button').disabled = !enabled;
  }

  let noticeTimer = null;
  function noticeText(text) {
    $('notice').textContent = text;
    clearTimeout(noticeTimer);
    noticeTimer = setTimeout(() => ($('notice').textContent = ''), 8000);
  }
  const notice = (text) => noticeText(text.charAt(0).toUpperCase() + text.slice(1));

  // ---- views --------------------------------------------------------------
  function openConversation(id) {
    if (openId !== id) typingStopped();
    openId = id;
    const c = conversation(id);
    $('conversation-title').textContent = title(c);
    $('composer-input').disabled = false;
    document.querySelector('#composer button').disabled = false;
    render({ scroll: true });
    $('composer-input').focus();
  }

  function showChat(show) {
    $('login').hidden = show;
    $('chat').hidden = !show;
  }

  function signOut(reason) {
    const socket = ws;
    session = null;
    ws = null;
    authed = false;
    clearInterval(heartbeatTimer);
    clearTimeout(reconnectTimer);
    reconnectTimer = null;
    if (socket) socket.close(1000);
    conversations.clear();
    openId = null;
    lastSeq = 0;
    $('messages').replaceChildren();
    $('conversations').replaceChildren();
    $('conversation-title').textContent = 'No conversation open';
    $('login-error').textContent = reason || '';
    $('login-password').value = '';
    showChat(false);
  }

  $('login-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const me = $('login-name').value.trim();
    const password = $('login-password').value;
    const button = e.target.querySelector('button');
    $('login-error').textContent = '';
    button.disabled = true;
    try {
      await schemaReady;
      const token = await fetchToken(me, password);
      session = { me, password, token };
      stopReconnecting = false;
      reconnectAttempt = 0;
      $('me-name').textContent = me;
      $('me-name').title = me;
      showChat(true);
      render();
      connect();
    } catch (err) {
      $('login-error').textContent = err.message;
    } finally {
      button.disabled = false;
    }
  });

  $('logout').addEventListener('click', () => signOut());

  $('new-chat').addEventListener('submit', (e) => {
    e.preventDefault();
    const value = $('new-chat-input').value.trim();
    if (!value) return;
    const group = /^#\s*(\d+)$/.exec(value);
    if (!group && value === session.me) return notice('That is you. Pick someone else.');
    const id = group ? `sg_${group[1]}` : singleId(session.me, value);
    conversation(id, { peer: value });
    $('new-chat-input').value = '';
    openConversation(id);
  });

  $('composer').addEventListener('submit', (e) => {
    e.preventDefault();
    const input = $('composer-input');
    const text = input.value.trim();
    const c = conversations.get(openId);
    if (!text || !c) return;
    input.value = '';
    typingStopped();
    sendText(c, text);
  });

  $('composer-input').addEventListener('input', onComposerInput);
  document.addEventListener('visibilitychange', () => render());
  window.addEventListener('online', () => {
    if (session && !ws) connect();
  });

  schemaReady.catch((err) => ($('login-error').textContent = `Cannot load the protocol schema: ${err.message}`));
})();
