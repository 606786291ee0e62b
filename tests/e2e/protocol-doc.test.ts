import * as fs from 'node:fs';
import * as path from 'node:path';
import { commands } from '@tt/proto';

it('docs/PROTOCOL.md lists every client command id', () => {
  const doc = fs.readFileSync(path.resolve(__dirname, '../../docs/PROTOCOL.md'), 'utf8');
  const clientFacing = commands.filter((c) => c.serviceId <= 6 || c.commandId === 0x0701);
  const missing = clientFacing.filter((c) => {
    const hex = `0x${c.commandId.toString(16).padStart(4, '0')}`;
    return !doc.includes(`| ${hex} | ${c.name.split('.').pop()} |`);
  });
  expect(missing.map((c) => c.name)).toEqual([]);
});

it('the tests docs/PROTOCOL.md names for file transfer exist in tests/e2e/files.test.ts', () => {
  const doc = fs.readFileSync(path.resolve(__dirname, '../../docs/PROTOCOL.md'), 'utf8');
  const suite = fs.readFileSync(path.resolve(__dirname, 'files.test.ts'), 'utf8');
  const titles = [...suite.matchAll(/\bit\('([^']+)'/g)].map((m) => m[1]!);
  const cited = doc
    .split('\n')
    .filter((line) => /^\| 0x05/.test(line))
    .flatMap((line) => {
      const test = line.split('|').slice(-2, -1)[0]!.trim();
      expect(test.startsWith('files: ')).toBe(true);
      return test.slice('files: '.length).split(';').map((t) => t.trim().replace(/…$/, ''));
    });
  expect(cited.length).toBeGreaterThanOrEqual(12);
  expect(cited.filter((c) => !titles.some((t) => t.startsWith(c)))).toEqual([]);
});
