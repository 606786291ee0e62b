import os from 'node:os';
import { Writable } from 'node:stream';
import { createLogDestination, createLogger } from './index';

function capture(): { stream: Writable; text: () => string; lines: () => Array<Record<string, unknown>> } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(String(chunk));
      cb();
    },
  });
  return {
    stream,
    text: () => chunks.join(''),
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

describe('format', () => {
  const saved = process.env.LOG_FORMAT;
  afterEach(() => {
    if (saved === undefined) delete process.env.LOG_FORMAT;
    else process.env.LOG_FORMAT = saved;
  });

  /** Raw text written through createLogDestination to a stream. */
  function rawCapture() {
    const chunks: string[] = [];
    const stream = new Writable({
      write(chunk, _enc, cb) {
        chunks.push(String(chunk));
        cb();
      },
    });
    return { stream, text: () => chunks.join('') };
  }

  test('pretty prints a readable line for people, not JSON', () => {
    const out = rawCapture();
    const log = createLogger('msg_server', { destination: createLogDestination({ format: 'pretty', to: out.stream }) });
    log.warn({ connId: 12 }, 'broken frame; connection closed');
    const text = out.text();
    expect(text).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] WARN: \[msg_server\] broken frame; connection closed \{"connId":12\}\n$/);
    expect(() => JSON.parse(text)).toThrow();
  });

  test('json stays one JSON object a line; auto is JSON when the output is not a terminal', () => {
    for (const format of ['json', 'auto'] as const) {
      const out = rawCapture();
      createLogger('msg_server', { destination: createLogDestination({ format, to: out.stream }) }).info('hello');
      expect(JSON.parse(out.text())).toMatchObject({ msg: 'hello', role: 'msg_server' });
    }
  });

  test('an unknown LOG_FORMAT is refused', () => {
    process.env.LOG_FORMAT = 'fancy';
    expect(() => createLogDestination()).toThrow(/LOG_FORMAT: unknown log format "fancy"/);
  });
});

test('one role a line: loggers sharing a destination each carry their own, extra bindings cannot add a second', () => {
  const out = capture();
  createLogger('standalone', { destination: out.stream }).info('starting');
  createLogger('msg_server', { destination: out.stream, bindings: { mode: 'standalone', role: 'push_server' } }).child({ component: 'router' }).info('listening');
  // JSON.parse keeps the last of two equal keys: count them in the raw text.
  const raw = out.text().split('\n').filter(Boolean);
  expect(raw).toHaveLength(2);
  for (const line of raw) expect(line.match(/"role":/g)).toHaveLength(1);
  expect(out.lines().map((l) => [l.role, l.mode, l.component])).toEqual([
    ['standalone', undefined, undefined],
    ['msg_server', 'standalone', 'router'],
  ]);
});

test('a huge string field is clipped on its way to the line', () => {
  const out = capture();
  createLogger('login_server', { destination: out.stream }).warn({ user: 'u'.repeat(500_000) }, 'login refused');
  const [line] = out.lines();
  expect((line.user as string).length).toBeLessThan(1100);
  expect(line.user).toMatch(/…\[\+498976 chars\]$/);
});
