import type { DbProxyHandlers } from '@tt/proto';
import { RpcError } from '@tt/rpc';
import type { Store } from '@tt/storage';
import type { KnownUsers } from '../domain/users';
import { friendsSince, setSessionAttribute, setUserAttribute, updateFriends, updateUserProfile, userAttributes, userProfiles } from '../domain/social';

export type SocialHandlersKeys = 'friendUpdate' | 'friendSync' | 'userAttrSet' | 'userAttrGet' | 'sessionAttrSet' | 'userProfiles' | 'userProfileUpdate';

const requireUser = (userId: number | null | undefined): number => {
  if (!userId) throw RpcError.invalidArgument('user_id is required');
  return userId;
};

/** Friends, user attributes, session attributes and profiles (the OMTP front's packets 51-58). */
export function socialHandlers(store: Store, users: KnownUsers): Pick<DbProxyHandlers, SocialHandlersKeys> {
  return {
    friendUpdate: async (req) => updateFriends(store, users, requireUser(req.userId), req),
    friendSync: async (req) => friendsSince(store, requireUser(req.userId), req.since ?? 0),
    userAttrSet: async (req) => {
      requireUser(req.userId);
      await setUserAttribute(store, users, req);
      return {};
    },
    userAttrGet: async (req) => userAttributes(store, requireUser(req.userId)),
    sessionAttrSet: async (req) => setSessionAttribute(store, users, requireUser(req.userId), req),
    userProfiles: async (req) => userProfiles(store, req.userIds ?? []),
    userProfileUpdate: async (req) => updateUserProfile(store, users, requireUser(req.userId), req),
  };
}
