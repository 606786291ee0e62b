#!/usr/bin/env node
// pnpm bench <scenario> [options]: see USAGE (options.ts) and ../README.md.
import { UsageError, USAGE } from './options';
import { runBench } from './run';

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  if (argv.length === 0 || argv.includes('--help') || argv[0] === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return argv.length === 0 ? 2 : 0;
  }
  const controller = new AbortController();
  const interrupt = () => controller.abort();
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);
  const { result, files, exitCode } = await runBench(argv, { log, signal: controller.signal });
  const out = process.stdout;
  out.write(`\n${result.scenario} (${result.deployment.mode}): checks ${result.checks.passed ? 'passed' : 'FAILED'}\n`);
  for (const [k, v] of Object.entries(result.headline)) out.write(`  ${k}: ${v}\n`);
  for (const f of result.checks.failures) out.write(`  FAILED: ${f}\n`);
  for (const w of result.warnings) out.write(`  warning: ${w}\n`);
  out.write(`results: ${files.json}\n         ${files.markdown}\n         ${files.png}\n`);
  return exitCode;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    if (err instanceof UsageError) {
      process.stderr.write(err.message ? `bench: ${err.message}\n\n${USAGE}\n` : `${USAGE}\n`);
      process.exit(err.message ? 2 : 0);
    }
    process.stderr.write(`bench: ${err?.message ?? err}\n`);
    process.exit(3);
  },
);
