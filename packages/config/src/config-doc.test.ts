import * as fs from 'node:fs';
import * as path from 'node:path';
import { renderConfigDoc } from './config-doc';

it('docs/CONFIG.md lists every environment variable as the code defines it (run scripts/gen-config-doc.mjs)', () => {
  const file = path.resolve(__dirname, '../../../docs/CONFIG.md');
  expect(fs.readFileSync(file, 'utf8')).toBe(renderConfigDoc());
});
