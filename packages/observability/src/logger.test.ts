import os from 'node:os';
import { Writable } from 'node:stream';
import { createLogger } from './index';

function capture(): { stream: Writable; lines: () => Array<Record<string, unknown>> } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(String(chunk));
      cb();
    },
  });
  return {
    stream,
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

test('JSON lines with role, pid, hostname; passwords redacted', () => {
  const out = capture();
  const log = createLogger('msg_server', { destination: out.stream });
  log.info({ user: 'alice', password: 'secret1', req: { password: 'secret2', password_hash: 'h' } }, 'login');
  log.child({ component: 'router' }).warn({ token: 't', err: new Error('boom') }, 'careful');
  const [first, second] = out.lines();
  expect(first).toMatchObject({ role: 'msg_server', pid: process.pid, hostname: os.hostname(), level: 'info', msg: 'login', user: 'alice' });
  expect(first.password).toBe('[REDACTED]');
  expect(first.req).toEqual({ password: '[REDACTED]', password_hash: '[REDACTED]' });
  expect(typeof first.time).toBe('string');
  expect(JSON.stringify(out.lines())).not.toMatch(/secret|"h"/);
  expect(second).toMatchObject({ role: 'msg_server', component: 'router', level: 'warn', token: '[REDACTED]' });
  expect((second.err as { message: string; stack: string }).message).toBe('boom');
});

describe('level', () => {
  const saved = process.env.LOG_LEVEL;
  afterEach(() => {
    if (saved === undefined) delete process.env.LOG_LEVEL;
    else process.env.LOG_LEVEL = saved;
  });

  test('defaults to info, else LOG_LEVEL, else options', () => {
    delete process.env.LOG_LEVEL;
    expect(createLogger('r', { destination: capture().stream }).level).toBe('info');
    process.env.LOG_LEVEL = 'debug';
    const out = capture();
    const log = createLogger('r', { destination: out.stream });
    log.debug('shown');
    log.trace('hidden');
    expect(out.lines().map((l) => l.msg)).toEqual(['shown']);
    expect(createLogger('r', { level: 'warn', destination: capture().stream }).level).toBe('warn');
  });

  test('an unknown level is refused', () => {
    expect(() => createLogger('r', { level: 'loud' })).toThrow(/unknown log level/);
    process.env.LOG_LEVEL = 'verbose';
    expect(() => createLogger('r')).toThrow(/LOG_LEVEL/);
  });
});
