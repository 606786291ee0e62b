import { cleanEnv, makeValidator, EnvError, EnvMissingError, type Spec } from 'envalid';

export { bool, str, port, url, host } from 'envalid';

/** Thrown when the environment does not describe a valid configuration. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

/** An integer within [min, max]. */
export function int(spec: Spec<number> & { min?: number; max?: number }) {
  const { min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER } = spec;
  const validator = makeValidator<number>((input: string) => {
    if (!/^-?\d+$/.test(input.trim())) throw new EnvError(`must be an integer, got "${input}"`);
    const value = Number(input);
    if (value < min || value > max) throw new EnvError(`must be between ${min} and ${max}, got ${value}`);
    return value;
  });
  return validator(spec);
}

// Every spec is a record of envalid validators; this is what a role passes in.
export type ConfigSpec = Parameters<typeof cleanEnv>[1];

/**
 * Validates the environment against a spec; every problem is reported at
 * once, in one ConfigError, so an operator can fix them in one go.
 */
export function loadConfig<S extends ConfigSpec>(spec: S, env: NodeJS.ProcessEnv = process.env) {
  return cleanEnv(env, spec, {
    reporter: ({ errors }) => {
      const problems = Object.entries(errors).map(([key, err]) => {
        if (err instanceof EnvMissingError) return `${key}: required but not set`;
        return `${key}: ${(err as Error).message}`;
      });
      if (problems.length > 0) throw new ConfigError(problems);
    },
  });
}

export interface ConfigDoc {
  name: string;
  default: string;
  description: string;
}

/** A spec as rows for docs/CONFIG.md. */
export function describeSpec(spec: ConfigSpec): ConfigDoc[] {
  return Object.entries(spec as Record<string, unknown>).map(([name, validator]) => {
    const v = validator as unknown as Spec<unknown>;
    let def = v.default === undefined ? '(required)' : JSON.stringify(v.default);
    if (def === '""') def = '(empty)';
    const choices = v.choices ? ` One of: ${v.choices.join(', ')}.` : '';
    return { name, default: def, description: `${v.desc ?? ''}${choices}` };
  });
}
