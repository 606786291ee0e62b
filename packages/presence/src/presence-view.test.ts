import { PresenceView, type StatusChange } from './presence-view';
import { USER_STATUS_LEAVE, USER_STATUS_OFFLINE, USER_STATUS_ONLINE } from './route-table';

const conn = (userId: number, connId: number, status = USER_STATUS_ONLINE, clientType = 1) => ({ userId, connId, clientType, status });

describe('PresenceView', () => {
  it('reports a user going online once, however many devices, and offline when the last one leaves', () => {
    const changes: StatusChange[] = [];
    const view = new PresenceView((c) => changes.push(c));
    view.applyPresence('ms1', 1, conn(7, 1), true);
    view.applyPresence('ms2', 1, conn(7, 1, USER_STATUS_ONLINE, 0x11), true);
    view.applyPresence('ms1', 2, conn(7, 1), false);
    view.applyPresence('ms2', 2, conn(7, 1), false);
    expect(changes).toEqual([
      { userId: 7, status: USER_STATUS_ONLINE },
      { userId: 7, status: USER_STATUS_OFFLINE },
    ]);
  });

  it('a user whose only connection is away is "leave"', () => {
    const changes: StatusChange[] = [];
    const view = new PresenceView((c) => changes.push(c));
    view.applyPresence('ms1', 1, conn(8, 1, USER_STATUS_LEAVE), true);
    expect(changes).toEqual([{ userId: 8, status: USER_STATUS_LEAVE }]);
    expect(view.table.userStatus(8)).toBe(USER_STATUS_LEAVE);
  });

  it('a dead msg_server takes its users offline; a snapshot reports only real changes', () => {
    let clock = 0;
    const changes: StatusChange[] = [];
    const view = new PresenceView((c) => changes.push(c), () => clock);
    view.table.touchServer('ms1', 1000);
    view.applySnapshot('ms1', 3, [conn(1, 1), conn(2, 2)]);
    view.applySnapshot('ms1', 4, [conn(1, 1), conn(3, 3)]);
    clock = 5000;
    expect(view.expireServers()).toEqual(['ms1']);
    expect(changes).toEqual([
      { userId: 1, status: USER_STATUS_ONLINE },
      { userId: 2, status: USER_STATUS_ONLINE },
      { userId: 2, status: USER_STATUS_OFFLINE },
      { userId: 3, status: USER_STATUS_ONLINE },
      { userId: 1, status: USER_STATUS_OFFLINE },
      { userId: 3, status: USER_STATUS_OFFLINE },
    ]);
  });
});

describe('PresenceView and dead incarnations', () => {
  it('a server declared dead takes its users offline at once, and its next life brings them back', () => {
    const changes: StatusChange[] = [];
    const view = new PresenceView((c) => changes.push(c));
    view.applySnapshot('ms1', 1, [conn(1, 1)], 1);
    view.markDead('ms1', 1);
    view.applyPresence('ms1', 2, conn(2, 2), true, 1); // the hung server, before it noticed
    view.applyPresence('ms1', 1, conn(1, 5), true, 2); // after it fenced itself: user 1 reconnected
    expect(changes).toEqual([
      { userId: 1, status: USER_STATUS_ONLINE },
      { userId: 1, status: USER_STATUS_OFFLINE },
      { userId: 1, status: USER_STATUS_ONLINE },
    ]);
  });
});
