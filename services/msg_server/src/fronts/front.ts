import type { IM } from '@tt/proto';
import type { ClientConnection } from '../connection';

/** The client protocols msg_server speaks; each is one front. */
export type FrontName = 'teamtalk' | 'ws' | 'tcp12' | 'msync' | 'omtp';

/** Shows one event to one viewer (a user id): the frame to write, or undefined when the protocol has nothing to show. */
export type EventRenderer = (viewerId: number) => Buffer | undefined;

/**
 * A client protocol as the rest of msg_server sees it: how to frame its
 * messages and how to show a core event to its clients. Connections carry
 * their front, so delivery needs no knowledge of any protocol.
 */
export interface Front {
  readonly name: FrontName;
  /** One complete frame of this protocol: a response (seqNum = the request's) or a push (seqNum 0). */
  frame(commandId: number, seqNum: number, body: Uint8Array): Buffer;
  /**
   * Prepares the rendering of an event for this protocol. Called once per
   * event and front that has recipients; the result is called once per
   * viewer, so the costly part (content conversion, encoding) happens once.
   */
  renderer(event: IM.Core.ICoreEvent): EventRenderer | undefined;
  /** Tells the connection why it is closed (another login, an operator…), then closes it. */
  kick(conn: ClientConnection, reason: number): void;
  /** A logged-in connection silent this long is closed. */
  idleLimitMs(conn: ClientConnection): number;
  /** Keeps a quiet connection alive from the server side, where the protocol does that. */
  heartbeat?(conn: ClientConnection): void;
}

/**
 * Renders one event for every front it meets, once per front: deliveries
 * create one pass per event and ask it for each connection's frame.
 */
export class RenderPass {
  private front0?: Front;
  private renderer0?: EventRenderer;
  private others?: Map<Front, EventRenderer | undefined>;

  constructor(readonly event: IM.Core.ICoreEvent) {}

  frameFor(conn: ClientConnection, viewerId: number): Buffer | undefined {
    const front = conn.front;
    let render: EventRenderer | undefined;
    // Nearly every delivery meets one front only: no map for that case.
    if (this.front0 === undefined) {
      this.front0 = front;
      render = this.renderer0 = front.renderer(this.event);
    } else if (this.front0 === front) {
      render = this.renderer0;
    } else {
      this.others ??= new Map();
      if (!this.others.has(front)) this.others.set(front, front.renderer(this.event));
      render = this.others.get(front);
    }
    return render?.(viewerId);
  }
}

/** An event only one front can show: that front writes the payload as is, the others skip it. */
export function frontPayload(front: FrontName, payload: Uint8Array): IM.Core.ICoreEvent {
  return { frontPayload: { front, payload } };
}
