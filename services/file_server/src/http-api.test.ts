import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { createLogger } from '@tt/observability';
import { createImageHttpHandler, parseRange } from './http-api';
import { ImageStore, sniffImageType } from './image-store';
import { DiskQuota } from './quota';

const GIF = Buffer.from('47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b', 'hex');

test('parseRange: single ranges, suffixes, unsatisfiable, and what is ignored', () => {
  expect(parseRange('bytes=0-9', 100)).toEqual([0, 9]);
  expect(parseRange('bytes=90-', 100)).toEqual([90, 99]);
  expect(parseRange('bytes=-10', 100)).toEqual([90, 99]);
  expect(parseRange('bytes=50-500', 100)).toEqual([50, 99]);
  expect(parseRange('bytes=100-', 100)).toBe('unsatisfiable');
  expect(parseRange('bytes=9-3', 100)).toBe('unsatisfiable');
  expect(parseRange('bytes=-0', 100)).toBe('unsatisfiable');
  expect(parseRange('bytes=0-1,5-6', 100)).toBeUndefined();
  expect(parseRange('items=0-1', 100)).toBeUndefined();
});

test('sniffImageType recognises images by their bytes only', () => {
  expect(sniffImageType(GIF)).toEqual({ type: 'image/gif', ext: 'gif' });
  expect(sniffImageType(Buffer.from([0xff, 0xd8, 0xff, 0xe0]))).toEqual({ type: 'image/jpeg', ext: 'jpg' });
  expect(sniffImageType(Buffer.from('RIFF\0\0\0\0WEBPVP8 '))).toEqual({ type: 'image/webp', ext: 'webp' });
  expect(sniffImageType(Buffer.from('<svg xmlns='))).toBeUndefined();
});

describe('image store over HTTP', () => {
  let dir: string;
  let server: http.Server;
  let base: string;
  const quota = new DiskQuota(10_000);

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tt-img-'));
    const images = new ImageStore(dir);
    await images.init();
    server = http.createServer(
      createImageHttpHandler({ images, quota, publicUrl: () => base, maxImageBytes: 1000, allowedTypes: new Set(['image/gif', 'image/png']), log: createLogger('test', { level: 'silent' }) }),
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const upload = (bytes: Buffer, name = 'x.gif') => {
    const form = new FormData();
    form.append('note', 'ignored field');
    form.append('file', new Blob([bytes]), name);
    return fetch(`${base}/upload`, { method: 'POST', body: form });
  };

  test('stores once per content, serves with type, ETag, 304, HEAD and ranges; counts the quota', async () => {
    const res = await upload(GIF);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { error_code: number; path: string; url: string };
    const hash = createHash('sha256').update(GIF).digest('hex');
    expect(body).toEqual({ error_code: 0, error_msg: 'ok', path: `i/${hash.slice(0, 2)}/${hash}.gif`, url: `${base}/i/${hash.slice(0, 2)}/${hash}.gif` });
    expect(quota.usedBytes).toBe(GIF.length);
    expect((await (await upload(GIF, 'again.gif')).json()) as object).toMatchObject({ path: body.path });
    expect(quota.usedBytes).toBe(GIF.length);

    const get = await fetch(body.url);
    expect(get.headers.get('content-type')).toBe('image/gif');
    expect(get.headers.get('etag')).toBe(`"${hash}"`);
    expect(Buffer.from(await get.arrayBuffer()).equals(GIF)).toBe(true);
    expect((await fetch(body.url, { headers: { 'If-None-Match': `W/"x", "${hash}"` } })).status).toBe(304);
    const head = await fetch(body.url, { method: 'HEAD' });
    expect(head.headers.get('content-length')).toBe(String(GIF.length));
    const tail = await fetch(body.url, { headers: { Range: 'bytes=-4' } });
    expect(tail.status).toBe(206);
    expect(Buffer.from(await tail.arrayBuffer()).equals(GIF.subarray(-4))).toBe(true);
    // If-Range with another validator: the whole file.
    expect((await fetch(body.url, { headers: { Range: 'bytes=0-1', 'If-Range': '"other"' } })).status).toBe(200);
    expect((await fetch(`${base}/i/${hash.slice(0, 2)}/${hash}.png`)).status).toBe(404);
    expect((await fetch(`${base}/`, { method: 'PUT' })).status).toBe(405);
  });

  test('refuses what is too big, not an accepted image, or not a form', async () => {
    expect((await upload(Buffer.concat([GIF, Buffer.alloc(2000)]))).status).toBe(413);
    expect((await upload(Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3]), 'a.jpg')).status).toBe(415); // jpeg not allowed here
    expect((await fetch(`${base}/`, { method: 'POST', body: 'hello', headers: { 'Content-Type': 'text/plain' } })).status).toBe(400);
    expect(fs.readdirSync(path.join(dir, 'images', 'tmp'))).toEqual([]);
  });
});
