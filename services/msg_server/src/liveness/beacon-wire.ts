import { Writer } from 'protobufjs/minimal';

/**
 * IM.Cluster.MsgServerBeacon (proto/IM.Cluster.proto) encoded with
 * protobufjs's writer alone: the beacon thread then needs neither the
 * generated @tt/proto module nor its ~10 MiB of heap. beacon-wire.test.ts
 * checks the bytes against the generated encoder, so the two cannot drift.
 */
export function encodeBeacon(serverId: string, incarnation: number, seq: number): Uint8Array {
  return Writer.create()
    .uint32((1 << 3) | 2)
    .string(serverId)
    .uint32(2 << 3)
    .uint32(incarnation)
    .uint32(3 << 3)
    .uint32(seq)
    .finish();
}
