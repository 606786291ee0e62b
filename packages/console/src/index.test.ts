import * as fs from 'node:fs';
import { consoleContentType, consoleFiles, consoleSecurityPolicy } from './index';

describe('consoleFiles', () => {
  it('lists the page, its modules and the vendored libraries, every file readable', () => {
    const files = consoleFiles();
    for (const url of ['/console/', '/console/index.html', '/console/app.js', '/console/api.js', '/console/pages/dashboard.js', '/console/vendor/preact.js', '/console/vendor/preact-hooks.js', '/console/vendor/htm.js', '/console/vendor/uplot.js', '/console/vendor/pico.css']) {
      expect({ url, served: files.has(url) }).toEqual({ url, served: true });
      expect(fs.statSync(files.get(url)!).isFile()).toBe(true);
    }
    expect(consoleContentType(files.get('/console/vendor/preact.js')!)).toMatch(/^text\/javascript/);
    expect(consoleContentType(files.get('/console/')!)).toBe('text/html; charset=utf-8');
  });

  it('every script, stylesheet and module the pages name is served', () => {
    const files = consoleFiles();
    const html = fs.readFileSync(files.get('/console/')!, 'utf8');
    const refs = [...html.matchAll(/(?:src|href)="([^"#:]+)"/g)].map((m) => new URL(m[1], 'http://x/console/').pathname);
    const importMap = JSON.parse(/<script type="importmap">([\s\S]*?)<\/script>/.exec(html)![1]) as { imports: Record<string, string> };
    refs.push(...Object.values(importMap.imports).map((u) => new URL(u, 'http://x/console/').pathname));
    for (const [url, file] of files) {
      if (!url.endsWith('.js') || url.includes('/vendor/')) continue;
      for (const m of fs.readFileSync(file, 'utf8').matchAll(/from '(\.[^']+)'/g)) refs.push(new URL(m[1], `http://x${url}`).pathname);
    }
    expect(refs.length).toBeGreaterThan(10);
    for (const ref of refs) expect({ ref, served: files.has(ref) }).toEqual({ ref, served: true });
  });

  it("allows the page's one inline script (the import map) by its hash", () => {
    const html = fs.readFileSync(consoleFiles().get('/console/')!, 'utf8');
    expect(consoleSecurityPolicy(html)).toMatch(/script-src 'self' 'sha256-[A-Za-z0-9+/]+=*'/);
    expect(consoleSecurityPolicy(html)).toContain("connect-src 'self'");
  });
});
