import * as fs from 'node:fs';
import { webchatFiles, webchatContentType } from './index';

describe('webchatFiles', () => {
  it('lists the page, the protobufjs browser bundle and the schema, every file readable', () => {
    const files = webchatFiles();
    for (const url of ['/chat/', '/chat/index.html', '/chat/app.js', '/chat/style.css', '/chat/vendor/protobuf.min.js', '/chat/proto/IM.Ws.proto']) {
      expect(files.has(url)).toBe(true);
      expect(fs.statSync(files.get(url)!).isFile()).toBe(true);
    }
    expect(fs.readFileSync(files.get('/chat/proto/IM.Ws.proto')!, 'utf8')).toContain('package IM.Ws;');
    expect(webchatContentType(files.get('/chat/')!)).toBe('text/html; charset=utf-8');
    expect(webchatContentType(files.get('/chat/vendor/protobuf.min.js')!)).toMatch(/^text\/javascript/);
  });

  it('every script and stylesheet the page names is served', () => {
    const files = webchatFiles();
    const html = fs.readFileSync(files.get('/chat/')!, 'utf8');
    const refs = [...html.matchAll(/(?:src|href)="([^"#:]+)"/g)].map((m) => new URL(m[1], 'http://x/chat/').pathname);
    expect(refs.length).toBeGreaterThan(0);
    for (const ref of refs) expect(files.has(ref)).toBe(true);
  });
});
