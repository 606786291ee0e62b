import type { Browser, LaunchOptions } from 'playwright-core';

/** Debian's chromium package (scripts/test.sh installs it); TT_CHROMIUM overrides. */
export const CHROMIUM_PATH = process.env.TT_CHROMIUM ?? '/usr/bin/chromium';

/** Flags that run Debian's Chromium headless as root in a container, with nothing phoning home. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * Starts headless Chromium driven by playwright-core (every launch gets a
 * fresh temporary profile that playwright deletes on close). Close the
 * returned browser in afterAll.
 */
export async function launchBrowser(opts: LaunchOptions = {}): Promise<Browser> {
  // Loaded on demand: playwright-core is a dev dependency, and this package is also used outside tests.
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    timeout: 30_000,
    ...opts,
    args: [...CHROMIUM_ARGS, ...(opts.args ?? [])],
  });
}
