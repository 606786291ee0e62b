#!/usr/bin/env node
// Writes docs/CONFIG.md from the config specs (needs `pnpm build` first).
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const { renderConfigDoc } = require(path.join(root, 'packages/config/dist/index.js'));
fs.writeFileSync(path.join(root, 'docs/CONFIG.md'), renderConfigDoc());
console.log('docs/CONFIG.md written');
