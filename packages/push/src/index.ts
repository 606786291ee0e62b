export { type PushMessage, type PushResult, type PushProvider, DEFAULT_EXPIRATION_SECONDS, parseRetryAfter } from './types';
export { ApnsProvider, APNS_PRODUCTION_URL, APNS_DEVELOPMENT_URL, type ApnsOptions } from './apns';
export {
  FcmProvider,
  fcmMessage,
  FCM_DEFAULT_URL,
  GOOGLE_TOKEN_URL,
  FCM_SCOPE,
  type FcmOptions,
  type ServiceAccount,
} from './fcm';
export { loadPushConfig, createPushProviders, PUSH_ENV_DOCS, type PushConfig, type ApnsConfig, type FcmConfig } from './config';
export {
  notificationText,
  cut as cutPreview,
  MSG_TYPE_SINGLE_TEXT,
  MSG_TYPE_SINGLE_AUDIO,
  MSG_TYPE_GROUP_TEXT,
  MSG_TYPE_GROUP_AUDIO,
  GENERIC_PREVIEW,
  AUDIO_PREVIEW,
  IMAGE_PREVIEW,
  type NotificationTextInput,
} from './notification';
export { signJwt, verifyJwt, decodeJwt, type JwtAlg, type DecodedJwt } from './jwt';
export { H2Connection, H2TransportError, type H2Response, type H2Request } from './h2';
// Test doubles, also importable as '@tt/push/dist/testing'; re-exported here so
// workspace tests (jest maps only the bare package name) can reach them.
export * from './testing';
