export { FakeH2Server, type RecordedRequest, type Answer } from './h2-server';
export { FakeApnsServer, type FakeApnsOptions, type ApnsNotification } from './fake-apns';
export { FakeFcmServer, googleError, type FakeFcmOptions, type FcmDelivery } from './fake-fcm';
export { makeTestCredentials, testDeviceToken, type TestCredentials, type TestApnsKey, type TestServiceAccount } from './keys';
