import { ConfigError, loadConfig, msgServerSpec, describeSpec } from './index';

describe('configuration from the environment', () => {
  it('uses documented defaults when nothing is set', () => {
    const cfg = loadConfig(msgServerSpec, {});
    expect(cfg.MSG_SERVER_PORT).toBe(8000);
    expect(cfg.MSG_SERVER_MAX_FRAME_BYTES).toBe(1048576);
    expect(cfg.MSG_SERVER_MSG_RATE_LIMIT).toBe(20);
    expect(cfg.NATS_URL).toBe('nats://127.0.0.1:4222');
  });

  it('reads overrides and converts types', () => {
    const cfg = loadConfig(msgServerSpec, { MSG_SERVER_PORT: '8100', MSG_SERVER_MSG_RATE_LIMIT: '50' });
    expect(cfg.MSG_SERVER_PORT).toBe(8100);
    expect(cfg.MSG_SERVER_MSG_RATE_LIMIT).toBe(50);
  });

  it('reports every invalid variable at once with a clear message', () => {
    let error: unknown;
    try {
      loadConfig(msgServerSpec, { MSG_SERVER_PORT: 'eighty', MSG_SERVER_MSG_RATE_LIMIT: '0', LOG_LEVEL: 'loud' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    expect(problems).toMatch(/MSG_SERVER_PORT/);
    expect(problems).toMatch(/MSG_SERVER_MSG_RATE_LIMIT: must be between 1/);
    expect(problems).toMatch(/LOG_LEVEL/);
  });

  it('describes every variable for the docs', () => {
    const rows = describeSpec(msgServerSpec);
    const port = rows.find((r) => r.name === 'MSG_SERVER_PORT');
    expect(port).toEqual({ name: 'MSG_SERVER_PORT', default: '8000', description: expect.stringContaining('TCP port') });
    expect(rows.every((r) => r.description.length > 0)).toBe(true);
  });
});
