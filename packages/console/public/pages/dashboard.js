// The dashboard: live counters polled from GET /cluster/stats every 2 s and
// drawn with uPlot (online users, messages per second, connections per
// msg_server), and the msg_servers with their load.
import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from '../api.js';
import { LoadError, canWrite, confirmAction, html, toast, toastError, useInterval } from '../ui.js';

const POLL_MS = 2000;
/** Five minutes of samples. */
const KEEP = 150;
const COLORS = ['#2563eb', '#16a34a', '#ea580c', '#9333ea', '#0891b2', '#db2777', '#65a30d', '#ca8a04'];

/** A uPlot line chart that follows its container's width; `data` is [times, ...series]. */
function Chart({ title, labels, data, testid }) {
  const box = useRef(null);
  const plot = useRef(null);
  const key = labels.join('\n');
  useEffect(() => {
    const el = box.current;
    const uPlot = window.uPlot;
    if (!el || !uPlot) return undefined;
    const opts = {
      width: el.clientWidth || 400,
      height: 190,
      legend: { show: labels.length > 1 },
      cursor: { drag: { x: false, y: false } },
      scales: {
        // At least the last minute, so one sample does not stretch the axis over years.
        x: { time: true, range: (_u, min, max) => (max == null ? [Date.now() / 1000 - 60, Date.now() / 1000] : [Math.min(min, max - 60), max]) }, y: { range: (_u, min, max) => [0, Math.max(1, max * 1.2)] } },
      axes: [{ stroke: '#64748b', grid: { stroke: '#eef2f7' } }, { stroke: '#64748b', grid: { stroke: '#eef2f7' }, size: 46 }],
      series: [{}, ...labels.map((label, i) => ({ label, stroke: COLORS[i % COLORS.length], width: 2, fill: labels.length === 1 ? `${COLORS[i]}18` : undefined, points: { show: false } }))],
    };
    plot.current = new uPlot(opts, data, el);
    const resize = new ResizeObserver(() => plot.current?.setSize({ width: el.clientWidth, height: 190 }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
  }, [key]);
  useEffect(() => {
    plot.current?.setData(data);
  }, [data]);
  return html`<article class="card chart-card" data-testid=${testid}>
    <h3>${title}</h3>
    <div class="chart" ref=${box}></div>
  </article>`;
}

function Stat({ label, value, hint, testid }) {
  return html`<article class="card stat">
    <div class="stat-label">${label}</div>
    <div class="stat-value" data-testid=${testid}>${value}</div>
    <div class="muted small">${hint}</div>
  </article>`;
}

// Kept across page switches so the charts keep their history.
let history = [];

export function Dashboard() {
  const [samples, setSamples] = useState(history);
  const [servers, setServers] = useState(null);
  const [error, setError] = useState(null);

  const poll = async () => {
    try {
      const [stats, list] = await Promise.all([api('GET', '/cluster/stats'), api('GET', '/cluster/msg-servers')]);
      const now = Date.now() / 1000;
      history = [...history.filter((x) => x.t > now - KEEP * (POLL_MS / 1000)), { t: now, ...stats }].slice(-KEEP);
      setSamples(history);
      setServers(list.items);
      setError(null);
    } catch (err) {
      setError(err);
    }
  };
  useEffect(() => {
    poll();
  }, []);
  useInterval(poll, POLL_MS);

  const last = samples[samples.length - 1];
  const times = samples.map((s) => s.t);
  const serverIds = [...new Set(samples.flatMap((s) => s.msgServers.map((m) => m.id)))].sort();
  const connections = [times, ...serverIds.map((id) => samples.map((s) => s.msgServers.find((m) => m.id === id)?.connections ?? null))];
  const totalConnections = last ? last.msgServers.reduce((n, m) => n + m.connections, 0) : 0;

  const drain = async (server) => {
    const ok = await confirmAction({ title: `Drain ${server.id}?`, text: 'It stops taking new clients and closes its connections gently; clients reconnect to the other msg_servers.', action: 'Drain' });
    if (!ok) return;
    try {
      await api('POST', `/cluster/msg-servers/${encodeURIComponent(server.id)}/drain`);
      toast('ok', `${server.id} is draining.`);
      poll();
    } catch (err) {
      toastError(err);
    }
  };

  return html`<div class="stack" data-testid="dashboard">
    <${LoadError} error=${error} retry=${poll} />
    <div class="stats">
      <${Stat} label="Online users" value=${last ? last.onlineUsers : '…'} hint="connected on any front" testid="stat-online-users" />
      <${Stat} label="Messages / second" value=${last ? last.messagesPerSecond.toFixed(1) : '…'} hint="stored, last 10 s average" testid="stat-messages-per-second" />
      <${Stat} label="Connections" value=${last ? totalConnections : '…'} hint="all client connections" testid="stat-connections" />
      <${Stat} label="msg_servers" value=${servers ? servers.length : '…'} hint=${servers ? `${servers.filter((s) => s.draining).length} draining` : ''} testid="stat-msg-servers" />
    </div>
    <div class="charts">
      <${Chart} title="Online users" labels=${['online users']} data=${[times, samples.map((s) => s.onlineUsers)]} testid="chart-online" />
      <${Chart} title="Messages per second" labels=${['messages/s']} data=${[times, samples.map((s) => s.messagesPerSecond)]} testid="chart-messages" />
      <${Chart} title="Connections per msg_server" labels=${serverIds.length ? serverIds : ['connections']} data=${serverIds.length ? connections : [times, times.map(() => 0)]} testid="chart-connections" />
    </div>
    <article class="card">
      <h3>msg_servers</h3>
      ${servers && servers.length === 0 ? html`<p class="muted">No msg_server is running.</p>` : null}
      ${servers && servers.length > 0
        ? html`<div class="table-wrap"><table class="striped">
            <thead><tr><th>Server</th><th>Address</th><th>Load</th><th>Fronts</th><th>State</th>${canWrite() ? html`<th></th>` : null}</tr></thead>
            <tbody>
              ${servers.map((s) => html`<tr key=${s.id} data-testid="msg-server-row">
                <td><code>${s.id}</code></td>
                <td>${s.address}</td>
                <td>
                  <div class="load"><progress value=${s.connections} max=${Math.max(1, s.maxConnections)}></progress><span>${s.connections} / ${s.maxConnections}</span></div>
                </td>
                <td>${s.fronts.map((f) => html`<span class="badge badge-grey" key=${f.protocol}>${f.protocol} :${f.port}</span> `)}</td>
                <td>${s.draining ? html`<span class="badge badge-amber">draining</span>` : html`<span class="badge badge-green">serving</span>`}</td>
                ${canWrite() ? html`<td class="actions"><button class="secondary outline small" disabled=${s.draining} onClick=${() => drain(s)}>Drain</button></td>` : null}
              </tr>`)}
            </tbody>
          </table></div>`
        : null}
    </article>
  </div>`;
}
