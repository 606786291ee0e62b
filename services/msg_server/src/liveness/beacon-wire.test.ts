import { IM } from '@tt/proto';
import { encodeBeacon } from './beacon-wire';

describe('the beacon thread encodes MsgServerBeacon without the generated module', () => {
  it.each([
    ['ms1', 1, 1],
    ['msg_server-2-lzq81', 7, 4_000_000_000],
    ['', 0, 0],
    ['ünïcødé-服务器', 2 ** 32 - 1, 127],
  ])('server %j, incarnation %d, seq %d: the same bytes as IM.Cluster.MsgServerBeacon.encode', (serverId, incarnation, seq) => {
    const ours = encodeBeacon(serverId, incarnation, seq);
    expect(Buffer.from(ours)).toEqual(Buffer.from(IM.Cluster.MsgServerBeacon.encode({ serverId, incarnation, seq }).finish()));
    expect(IM.Cluster.MsgServerBeacon.decode(ours)).toMatchObject({ serverId, incarnation, seq });
  });
});
