import { describeSpec } from './loader';
import { allSpecs } from './specs';

/** docs/CONFIG.md, generated from the specs so the two cannot drift. */
export function renderConfigDoc(): string {
  const out = [
    '# Configuration',
    '',
    'Every setting is an environment variable, validated at start-up: a process with an invalid value',
    'prints every problem at once and exits with code 2. Generated from `packages/config/src/specs.ts`',
    'by `node scripts/gen-config-doc.mjs`; a test fails when this page is out of date.',
    '',
  ];
  for (const [role, spec] of Object.entries(allSpecs)) {
    out.push(`## ${role}`, '', '| variable | default | meaning |', '|---|---|---|');
    for (const row of describeSpec(spec)) out.push(`| \`${row.name}\` | ${row.default} | ${row.description.replace(/\|/g, '\\|')} |`);
    out.push('');
  }
  return out.join('\n');
}
