import * as v8 from 'node:v8';

/**
 * V8 settings every role runs with, set before the role starts serving.
 *
 * Allocation-site pretenuring is off. V8 watches which allocation sites'
 * objects survive young-generation collections and, past a threshold, has
 * them allocated straight in the old generation. Under a flood of small
 * requests (16 clients sending tcp12 PINGs as fast as the server reads) it
 * took that decision for objects made once per request and per answer in
 * two runs of three: the old generation then filled with garbage at
 * ~40 MiB/s, freed only by full collections, and the process grew by
 * 140–170 MiB instead of ~45 MiB, reading ~30 % fewer requests. With the
 * decision off the same flood stays at the lower figure in every run
 * (docs/CAPACITY.md, "Clients that flood and never read"). V8 reads the
 * flag when it decides, so setting it at start-up is enough (it is not
 * allowed in NODE_OPTIONS).
 */
export function applyHeapSettings(): void {
  v8.setFlagsFromString('--no-allocation-site-pretenuring');
}
