import * as fs from 'node:fs';
import * as path from 'node:path';
import { commands } from '@tt/proto';

it('docs/PROTOCOL.md lists every client command id', () => {
  const doc = fs.readFileSync(path.resolve(__dirname, '../../docs/PROTOCOL.md'), 'utf8');
  const clientFacing = commands.filter((c) => c.serviceId <= 6 || c.commandId === 0x0701);
  const missing = clientFacing.filter((c) => {
    const hex = `0x${c.commandId.toString(16).padStart(4, '0')}`;
    if (c.serviceId === 5) return !doc.includes('0x0501–0x050c');
    return !doc.includes(`| ${hex} | ${c.name.split('.').pop()} |`);
  });
  expect(missing.map((c) => c.name)).toEqual([]);
});
