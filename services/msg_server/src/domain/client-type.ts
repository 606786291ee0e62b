/** TeamTalk's client types: 0x01-0x0f are PC clients (Windows, Mac), 0x10 and up mobile ones (iOS, Android). */
/**
 * Browsers on the WebSocket front: a PC-class client type of our own
 * (TeamTalk defines 1, 2, 0x11, 0x12). Browser tabs never kick each other
 * or the user's TeamTalk PC client.
 */
export const CLIENT_TYPE_WEB = 0x08;

export const isWebClient = (clientType: number): boolean => clientType === CLIENT_TYPE_WEB;

export const isMobileClient = (clientType: number): boolean => (clientType & 0x10) !== 0;
