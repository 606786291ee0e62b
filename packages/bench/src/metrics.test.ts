import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { metricSum, parsePrometheus, scrape } from './metrics';

const TEXT = `# HELP process_resident_memory_bytes Resident memory size in bytes.
# TYPE process_resident_memory_bytes gauge
process_resident_memory_bytes{role="standalone"} 123456789
nodejs_heap_size_used_bytes{role="standalone"} 2.5e7
tt_msg_server_messages_rejected_total{role="standalone",reason="rate"} 3
tt_msg_server_messages_rejected_total{role="standalone",reason="store"} 4
tt_msg_server_logins_total{role="standalone",result="0"} 10
tt_msg_server_logins_total{role="standalone",result="6"} 2
weird_label{a="x\\"y",b="z"} 1
process_cpu_seconds_total 1.5
nodejs_heap_space_size_total_bytes{role="standalone",space="new"} 33554432
nodejs_heap_space_size_total_bytes{role="standalone",space="old"} 99999999
`;

test('parses Prometheus text and sums series', () => {
  const s = parsePrometheus(TEXT);
  expect(metricSum(s, 'process_resident_memory_bytes')).toBe(123456789);
  expect(metricSum(s, 'nodejs_heap_size_used_bytes')).toBe(25_000_000);
  expect(metricSum(s, 'tt_msg_server_messages_rejected_total')).toBe(7);
  expect(metricSum(s, 'tt_msg_server_messages_rejected_total', { reason: 'rate' })).toBe(3);
  expect(metricSum(s, 'tt_msg_server_logins_total', { result: '0' })).toBe(10);
  expect(metricSum(s, 'process_cpu_seconds_total')).toBe(1.5);
  expect(s.find((x) => x.name === 'weird_label')!.labels).toEqual({ a: 'x"y', b: 'z' });
  expect(metricSum(s, 'missing')).toBe(0);
});

test('a scrape of two msg_servers sums their memory, the young generation apart', async () => {
  const server = http.createServer((_req, res) => res.end(TEXT));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    const snap = await scrape([url, url], 1000);
    expect(snap.rssBytes).toBe(2 * 123456789);
    expect(snap.youngGenerationBytes).toBe(2 * 33554432);
    expect(snap.loginsOk).toBe(20);
    expect(snap.loginsRefused).toBe(4);
  } finally {
    server.close();
  }
});
