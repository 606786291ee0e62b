import { clientIpOf, throttledSeconds } from './login-throttle';

test("a connection's address without its port is what db_proxy counts per address", () => {
  expect(clientIpOf('10.1.2.3:50123')).toBe('10.1.2.3');
  expect(clientIpOf('::ffff:10.1.2.3:50123')).toBe('::ffff:10.1.2.3');
  expect(clientIpOf('2001:db8::7:443')).toBe('2001:db8::7');
  // A socket that closed before its address was read: unknown, so only the account is counted.
  expect(clientIpOf('undefined:undefined')).toBe('');
});

test("db_proxy's refusal becomes whole seconds to wait; a checked answer none", () => {
  expect(throttledSeconds({ userName: 'a', resultCode: 2, retryAfterMs: 1 })).toBe(1);
  expect(throttledSeconds({ userName: 'a', resultCode: 2, retryAfterMs: 2001 })).toBe(3);
  expect(throttledSeconds({ userName: 'a', resultCode: 1 })).toBe(0);
});
