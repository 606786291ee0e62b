export {
  TOKEN_ISSUER,
  TokenError,
  isTokenError,
  issueToken,
  verifyToken,
  type IssueOptions,
  type IssuedToken,
  type TokenErrorCode,
  type TokenSubject,
  type VerifiedToken,
  type VerifyOptions,
} from './token';
export { generateSecret, loadOrCreateSecretFile } from './secret-file';
export {
  DEFAULT_LOGIN_THROTTLE,
  LoginAttempt,
  LoginThrottle,
  backoffDelayMs,
  loginThrottleSettings,
  normalizeAddress,
  retryAfterSeconds,
  type LoginSubject,
  type LoginThrottleHooks,
  type LoginThrottleSettings,
  type ThrottleCache,
  type ThrottleReason,
  type ThrottleWait,
} from './login-throttle';
export { instrumentedLoginThrottle, type ThrottleLog } from './login-throttle-metrics';
