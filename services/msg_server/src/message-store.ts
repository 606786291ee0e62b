import { Batcher } from '@tt/batching';
import type { DbProxyClient, IM } from '@tt/proto';
import { RpcError } from '@tt/rpc';

/** Messages larger than this are saved in a call of their own, so a batched call stays a few MB at most. */
const BATCH_MAX_MESSAGE_BYTES = 64 * 1024;

/**
 * Stores messages through db_proxy. The saves of every connection of this
 * msg_server that are under way at the same moment travel in one
 * SaveMessages call (one round trip, one group commit), each still stored or
 * refused on its own; nothing is reported stored before db_proxy says so.
 */
export class MessageStore {
  private readonly batcher: Batcher<IM.Message.IIMMsgData, IM.DbProxy.ISavedMessage | RpcError>;

  constructor(
    private readonly db: DbProxyClient,
    options: { onBatch?: (size: number) => void } = {},
  ) {
    this.batcher = new Batcher((messages) => this.saveBatch(messages), { lanes: 4, maxBatch: 64, onBatch: options.onBatch });
  }

  async save(message: IM.Message.IIMMsgData): Promise<IM.DbProxy.SavedMessage> {
    if ((message.msgData?.length ?? 0) > BATCH_MAX_MESSAGE_BYTES) return this.db.saveMessage(message as IM.Message.IMMsgData);
    const result = await this.batcher.submit(message);
    if (result instanceof RpcError) throw result;
    return result as IM.DbProxy.SavedMessage;
  }

  private async saveBatch(messages: IM.Message.IIMMsgData[]): Promise<Array<IM.DbProxy.ISavedMessage | RpcError>> {
    if (messages.length === 1) return [await this.db.saveMessage(messages[0] as IM.Message.IMMsgData)];
    const rsp = await this.db.saveMessages({ messages } as IM.DbProxy.SaveMessagesReq);
    if (rsp.results.length !== messages.length) throw new RpcError(13, `db_proxy answered ${rsp.results.length} results for ${messages.length} messages`);
    return rsp.results.map((r) => r.saved ?? new RpcError(r.errorCode ?? 13, r.errorMessage ?? 'not stored'));
  }
}
