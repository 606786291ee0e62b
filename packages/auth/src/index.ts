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
