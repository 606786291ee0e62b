// NATS subjects of the cluster (the in-process bus uses the same names).
// The prefix lets several clusters share one NATS; see docs/ARCHITECTURE.md.

export function clusterSubjects(prefix: string) {
  return {
    /** msg_server load reports (IM.Cluster.MsgServerReport). */
    msgServerReport: `${prefix}.msgserver.report`,
    /** A msg_server drained or stopped (IM.Cluster.MsgServerLeaving). */
    msgServerLeaving: `${prefix}.msgserver.leaving`,
    /** msg_server liveness, every few hundred ms (IM.Cluster.MsgServerBeacon). */
    msgServerBeacon: `${prefix}.msgserver.beacon`,
    /** route_server declared a msg_server incarnation dead (IM.Cluster.MsgServerDown). */
    msgServerDown: `${prefix}.msgserver.down`,
    /** One login or logout of a connection (IM.Cluster.PresenceUpdate). */
    presence: `${prefix}.presence`,
    /** All connections of one msg_server (IM.Cluster.PresenceSnapshot). */
    presenceSnapshot: `${prefix}.presence.snapshot`,
    /** route_server asks msg_servers for snapshots (IM.Cluster.PresenceResync). */
    presenceResync: `${prefix}.presence.resync`,
    /** Delivery requests to the route_server queue group (IM.Cluster.DeliverBatch, answered with DeliverReply). */
    routeDeliver: `${prefix}.route.deliver`,
    /** Who is online, asked of the route_server queue group (IM.Cluster.PresenceQuery, answered with PresenceQueryReply). */
    routePresence: `${prefix}.route.presence`,
    /** Deliveries for the connections of one msg_server (IM.Cluster.DeliveryBatch). */
    msgServerDeliver: (serverId: string) => `${prefix}.ms.${serverId}.deliver`,
    /** A PDU for every logged-in connection of the cluster (IM.Cluster.Broadcast). */
    broadcast: `${prefix}.broadcast`,
    /** Kick one connection of one msg_server (IM.Cluster.KickConnection). */
    msgServerKick: (serverId: string) => `${prefix}.ms.${serverId}.kick`,
    /** Operator requests any msg_server serves (IM.Cluster.AdminRequest → AdminReply; queue group `msg_server`). */
    admin: `${prefix}.admin`,
    /** Operator requests for one msg_server (drain). */
    msgServerAdmin: (serverId: string) => `${prefix}.ms.${serverId}.admin`,
    /**
     * Push jobs (JetStream work queues): `<prefix>.push.jobs.message` (IM.Cluster.PushJob, from msg_server),
     * `<prefix>.push.jobs.send` (IM.Cluster.PushSend); failed jobs go to `<prefix>.push.dead.<queue>`.
     */
    pushJobs: `${prefix}.push`,
    /** JetStream stream of the push jobs (its dead letters: `<stream>_DEAD`). */
    pushStream: `${prefix.replace(/[^A-Za-z0-9_-]/g, '_').toUpperCase()}_PUSH`,
    /** Webhook jobs (JSON, msg_server src/webhooks): `<prefix>.webhook.jobs.deliver`; given up on: `<prefix>.webhook.dead.deliver`. */
    webhookJobs: `${prefix}.webhook`,
    /** JetStream stream of the webhook jobs (its dead letters: `<stream>_DEAD`). */
    webhookStream: `${prefix.replace(/[^A-Za-z0-9_-]/g, '_').toUpperCase()}_WEBHOOK`,
    /** The webhook settings changed: every msg_server reads them again (empty message). */
    webhooksChanged: `${prefix}.webhook.changed`,
    /** file_server liveness, addresses and load (IM.FileServer.FileServerReport). */
    fileServerReport: `${prefix}.fileserver.report`,
    /** A file_server stopped (IM.FileServer.FileServerLeaving). */
    fileServerLeaving: `${prefix}.fileserver.leaving`,
    /** A msg_server (re)started: every file_server reports at once (empty message). */
    fileServerResync: `${prefix}.fileserver.resync`,
  };
}

export type ClusterSubjects = ReturnType<typeof clusterSubjects>;

/** The push job queues (JetStream consumers / in-process queues): msg_server's per-message jobs, push_server's per-device sends. */
export const PUSH_QUEUES = { message: 'message', send: 'send' } as const;

