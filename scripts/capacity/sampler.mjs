// Usage: node scripts/capacity/sampler.mjs <bench pid> <bench log file> <nats monitoring url, e.g. http://127.0.0.1:8222> <MariaDB user only the run uses> <out.json> [name:pid ...]
// Needs MariaDB userstat=1 and a nats-server started with -m. docs/CAPACITY.md "Cost per message" says how it was used.
// Side sampler for a bench run: every 500 ms, the CPU of the bench's child processes (by role),
// msg_server's stored-message counter, NATS /varz, and MariaDB USER_STATISTICS of one user.
import * as fs from 'node:fs';
import { execFileSync } from 'node:child_process';
const [benchPid, logFile, varzUrl, dbUser, outFile, ...extra] = process.argv.slice(2);
const extraPids = extra.map((e) => e.split(':'));
function pidCpu(pid) { try { const st = fs.readFileSync(`/proc/${pid}/stat`, 'utf8'); const f = st.slice(st.lastIndexOf(')') + 2).split(' '); return (Number(f[11]) + Number(f[12])) / 100; } catch { return 0; } }
const samples = [];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
function children() {
  const out = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const st = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
      if (f[1] !== benchPid) continue;
      const cmd = fs.readFileSync(`/proc/${d}/cmdline`, 'utf8');
      const m = /services\/(\w+)\/dist/.exec(cmd);
      if (!m) continue;
      out.push({ role: `${m[1]}:${d}`, cpu: (Number(f[11]) + Number(f[12])) / 100 });
    } catch {}
  }
  return out;
}
function benchCpu() {
  const st = fs.readFileSync(`/proc/${benchPid}/stat`, 'utf8');
  const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}
async function stored(urls) {
  let s = 0;
  for (const u of urls) {
    const t = await (await fetch(`${u}/metrics`)).text();
    for (const line of t.split('\n')) {
      if (line.startsWith('tt_msg_server_messages_stored_total')) s += Number(line.split(/\s+/).pop());
    }
  }
  return s;
}
function db() {
  const out = execFileSync('mysql', ['-uroot', '-N', '-B', '-e', `select SELECT_COMMANDS, UPDATE_COMMANDS, OTHER_COMMANDS, COMMIT_TRANSACTIONS, ROWS_READ, ROWS_INSERTED, ROWS_UPDATED, BUSY_TIME, CPU_TIME from information_schema.USER_STATISTICS where USER='${dbUser}'`]).toString().trim();
  const [sel, upd, oth, commit, rowsRead, rowsIns, rowsUpd, busy, cpu] = (out || '0 0 0 0 0 0 0 0 0').split(/\s+/).map(Number);
  return { sel, upd, oth, commit, rowsRead, rowsIns, rowsUpd, busy, cpu };
}
let urls;
for (;;) {
  try { process.kill(Number(benchPid), 0); } catch { break; }
  try {
    if (!urls) {
      const m = /metrics (http[^\n]*)/.exec(fs.readFileSync(logFile, 'utf8'));
      if (m) urls = m[1].split(',').map((s) => s.trim());
    }
    if (urls) {
      const v = await (await fetch(`${varzUrl}/varz`)).json();
      samples.push({ t: Date.now(), stored: await stored(urls), nats: { inMsgs: v.in_msgs, outMsgs: v.out_msgs, inBytes: v.in_bytes, outBytes: v.out_bytes }, db: db(), cpu: Object.fromEntries([...children().map((c) => [c.role, c.cpu]), ...extraPids.map(([n, p]) => [n, pidCpu(p)])]), bench: benchCpu() });
    }
  } catch (e) { /* process ending */ }
  await sleep(500);
}
fs.writeFileSync(outFile, JSON.stringify(samples));
