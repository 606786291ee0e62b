// @tt/fuzz: the protocol fuzzer (pnpm fuzz) as a library, for tests.
export { runFuzz, renderTable, targetsOf, type FuzzOptions, type FuzzResult, type TargetResult } from './run';
export { runPhase, connectionSeed, type PhaseLimits, type PhaseStats } from './drive';
export { startStandalone, startCluster, rssBytes, FUZZ_SERVER_DEFAULTS, type Deployment } from './deployment';
export { parseOptions, UsageError, USAGE } from './options';
export { mutate, MUTATIONS, type Sample } from './mutate';
export { Rng } from './rng';
export { randomMessage, randomObject, messageType, protoRoot } from './protobuf-gen';
export { randomStruct, randomTars } from './tars-gen';
export { TARGET_NAMES, type TargetName, type Target } from './targets/target';
