// Usage: node scripts/capacity/analyze.mjs <samples.json from sampler.mjs> [deliveries per message]
// Prints NATS messages, database statements and CPU of each role per stored message, between 5 % and 95 % of the run.
import * as fs from 'node:fs';
const s = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const per = Number(process.argv[3] ?? 1); // deliveries per message, for group runs
const S = s[s.length - 1].stored;
const a = s.find((x) => x.stored >= 0.05 * S);
const b = [...s].reverse().find((x) => x.stored <= 0.95 * S);
const n = b.stored - a.stored;
const sec = (b.t - a.t) / 1000;
const out = { messages: n, seconds: sec, rate: n / sec, natsInPerMsg: (b.nats.inMsgs - a.nats.inMsgs) / n, natsOutPerMsg: (b.nats.outMsgs - a.nats.outMsgs) / n, natsInBytesPerMsg: (b.nats.inBytes - a.nats.inBytes) / n, natsOutBytesPerMsg: (b.nats.outBytes - a.nats.outBytes) / n };
for (const k of Object.keys(a.db)) out[`db_${k}_perMsg`] = (b.db[k] - a.db[k]) / n;
const cpu = {};
for (const k of Object.keys(b.cpu)) if (a.cpu[k] !== undefined) { const role = k.replace(/:\d+$/, ''); cpu[role] = (cpu[role] ?? 0) + (b.cpu[k] - a.cpu[k]); }
out.cpuUsPerMsg = Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, Math.round((v / n) * 1e6)]));
out.cpuCoresDuring = Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, Math.round((v / sec) * 100) / 100]));
out.benchCpuUsPerMsg = Math.round(((b.bench - a.bench) / n) * 1e6);
if (per !== 1) out.perDelivery = { natsOut: out.natsOutPerMsg / per };
console.log(JSON.stringify(out, null, 1));
