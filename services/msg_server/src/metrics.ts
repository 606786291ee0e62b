import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export function createMsgServerMetrics(registry: Registry) {
  const registers = [registry];
  return {
    connections: new Gauge({ name: 'tt_msg_server_connections', help: 'Open client connections (every front)', registers }),
    frontConnections: new Gauge({ name: 'tt_msg_server_front_connections', help: 'Open client connections by front (client protocol)', labelNames: ['front'] as const, registers }),
    loggedIn: new Gauge({ name: 'tt_msg_server_logged_in_connections', help: 'Logged-in client connections', registers }),
    logins: new Counter({ name: 'tt_msg_server_logins_total', help: 'Login attempts by result code', labelNames: ['result'] as const, registers }),
    pdusHandled: new Counter({ name: 'tt_msg_server_pdus_handled_total', help: 'Client PDUs handled, by command', labelNames: ['command'] as const, registers }),
    pdusDropped: new Counter({ name: 'tt_msg_server_pdus_dropped_total', help: 'Client PDUs dropped, by reason', labelNames: ['reason'] as const, registers }),
    frameErrors: new Counter({ name: 'tt_msg_server_frame_errors_total', help: 'Connections closed for a broken frame', registers }),
    connectionsCutOff: new Counter({ name: 'tt_msg_server_connections_cut_off_total', help: 'Client connections closed for the unsent output they held: slow_reader (at CONN_MAX_OUTPUT_BYTES for CONN_SLOW_READER_MS), output_overflow (past 8 times it)', labelNames: ['reason'] as const, registers }),
    messagesStored: new Counter({ name: 'tt_msg_server_messages_stored_total', help: 'Messages stored and acknowledged to their sender', registers }),
    messagesRecalled: new Counter({ name: 'tt_msg_server_messages_recalled_total', help: 'Messages recalled (by their sender or a group owner)', registers }),
    duplicatesSuppressed: new Counter({ name: 'tt_msg_server_duplicate_messages_total', help: 'Resends with a client_msg_id already stored: answered with the original, not stored again', registers }),
    messagesRejected: new Counter({ name: 'tt_msg_server_messages_rejected_total', help: 'Messages discarded, by reason', labelNames: ['reason'] as const, registers }),
    undelivered: new Counter({ name: 'tt_msg_server_realtime_delivery_failures_total', help: 'Deliveries route_server could not take (the messages stay stored)', registers }),
    beaconsWithheld: new Counter({ name: 'tt_msg_server_beacons_withheld_total', help: 'Times the beacon thread stopped beaconing because the main event loop had not turned for MSG_SERVER_HANG_TIMEOUT_MS', registers }),
    fencings: new Counter({ name: 'tt_msg_server_fencings_total', help: 'Times this msg_server learnt it had been declared dead and closed every client connection', registers }),
    pushJobs: new Counter({ name: 'tt_msg_server_push_jobs_total', help: 'Push jobs for push_server (messages with recipients whose phone was offline), by result: queued, failed', labelNames: ['result'] as const, registers }),
    statusNotifies: new Counter({ name: 'tt_msg_server_status_notifies_total', help: 'User status changes sent to PC clients (after coalescing)', registers }),
    saveBatchSize: new Histogram({ name: 'tt_msg_server_save_batch_messages', help: 'Messages per call to db_proxy (saves of concurrent connections travel together)', buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256], registers }),
    storeSeconds: new Histogram({ name: 'tt_msg_server_store_seconds', help: 'Time to store one message through db_proxy', buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5], registers }),
  };
}

export type MsgServerMetrics = ReturnType<typeof createMsgServerMetrics>;
