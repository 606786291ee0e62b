#!/usr/bin/env node
// pnpm fuzz [options]: see USAGE (options.ts) and the README's "Fuzzing" section.
import * as fs from 'node:fs';
import { parseOptions, UsageError, USAGE } from './options';
import { copyServerLogTo } from './deployment';
import { renderTable, runFuzz } from './run';

async function main(): Promise<number> {
  const opts = parseOptions(process.argv.slice(2));
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort());
  process.once('SIGTERM', () => controller.abort());
  const log = (line: string) => process.stderr.write(`[fuzz] ${line}\n`);
  log(`seed ${opts.seed} (replay with --seed ${opts.seed})`);
  copyServerLogTo(opts.serverLog);
  const result = await runFuzz({ ...opts, log, signal: controller.signal });
  process.stdout.write(`\nfuzz (${result.mode}, seed ${result.seed}): ${result.passed ? 'passed' : 'FAILED'}\n\n${renderTable(result)}\n`);
  for (const f of result.failures) process.stdout.write(`FAILED: ${f}\n`);
  if (opts.json) fs.writeFileSync(opts.json, JSON.stringify(result, null, 2));
  return result.passed ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    if (err instanceof UsageError) {
      process.stderr.write(err.message ? `fuzz: ${err.message}\n\n${USAGE}` : USAGE);
      process.exit(err.message ? 2 : 0);
    }
    process.stderr.write(`fuzz: ${err?.stack ?? err}\n`);
    process.exit(3);
  },
);
