/** TeamTalk's client types: 0x01-0x0f are PC clients (Windows, Mac), 0x10 and up mobile ones (iOS, Android). */
export const isMobileClient = (clientType: number): boolean => (clientType & 0x10) !== 0;
