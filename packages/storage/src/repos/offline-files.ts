import { SqlDatabase } from '../db';
import { OfflineFile } from '../model';
import { StorageError } from '../errors';
import { text, u32 } from '../validate';

interface OfflineFileRow {
  task_id: string;
  from_id: number;
  to_id: number;
  file_name: string;
  file_size: number;
  server_id: string;
  expires: number;
  created: number;
}

const toModel = (r: OfflineFileRow): OfflineFile => ({
  taskId: r.task_id,
  fromId: Number(r.from_id),
  toId: Number(r.to_id),
  fileName: r.file_name,
  fileSize: Number(r.file_size),
  serverId: r.server_id,
  expires: Number(r.expires),
  created: Number(r.created),
});

/** Most offline files one user may have listed at once (oldest first). */
const MAX_LISTED = 500;

/** Records of offline files (im_offline_file); file_server holds the bytes. */
export class OfflineFileRepository {
  constructor(
    private readonly db: SqlDatabase,
    private readonly now: () => number,
  ) {}

  /** Records a completely uploaded file. Adding the same task again replaces its record. */
  async add(file: Omit<OfflineFile, 'created'>): Promise<OfflineFile> {
    const row = {
      taskId: text('taskId', file.taskId, 64, false),
      fromId: u32('fromId', file.fromId),
      toId: u32('toId', file.toId),
      fileName: text('fileName', file.fileName, 255, false),
      fileSize: u32('fileSize', file.fileSize),
      serverId: text('serverId', file.serverId, 128, false),
      expires: u32('expires', file.expires),
      created: this.now(),
    };
    if (row.fromId === 0 || row.toId === 0) throw new StorageError('INVALID_ARGUMENT', 'fromId and toId must be set');
    const insert = 'INSERT INTO im_offline_file (task_id, from_id, to_id, file_name, file_size, server_id, expires, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?)';
    await this.db.execute(
      this.db.dialect === 'mysql'
        ? `${insert} ON DUPLICATE KEY UPDATE from_id = VALUES(from_id), to_id = VALUES(to_id), file_name = VALUES(file_name), file_size = VALUES(file_size), server_id = VALUES(server_id), expires = VALUES(expires)`
        : `${insert} ON CONFLICT (task_id) DO UPDATE SET from_id = excluded.from_id, to_id = excluded.to_id, file_name = excluded.file_name, file_size = excluded.file_size, server_id = excluded.server_id, expires = excluded.expires`,
      [row.taskId, row.fromId, row.toId, row.fileName, row.fileSize, row.serverId, row.expires, row.created],
    );
    return row;
  }

  /** Unexpired files waiting for this receiver, oldest first. */
  async listForReceiver(toId: number): Promise<OfflineFile[]> {
    const rows = await this.db.query<OfflineFileRow>(
      `SELECT task_id, from_id, to_id, file_name, file_size, server_id, expires, created FROM im_offline_file WHERE to_id = ? AND expires > ? ORDER BY created, task_id LIMIT ${MAX_LISTED}`,
      [u32('toId', toId), this.now()],
    );
    return rows.map(toModel);
  }

  async find(taskId: string): Promise<OfflineFile | undefined> {
    const rows = await this.db.query<OfflineFileRow>('SELECT task_id, from_id, to_id, file_name, file_size, server_id, expires, created FROM im_offline_file WHERE task_id = ?', [
      text('taskId', taskId, 64),
    ]);
    return rows[0] ? toModel(rows[0]) : undefined;
  }

  /** Removes the record of a task between these two users; returns it, or undefined when there was none. */
  async remove(taskId: string, fromId: number, toId: number): Promise<OfflineFile | undefined> {
    return this.db.transaction(async (tx) => {
      const rows = await tx.query<OfflineFileRow>(
        'SELECT task_id, from_id, to_id, file_name, file_size, server_id, expires, created FROM im_offline_file WHERE task_id = ? AND from_id = ? AND to_id = ?',
        [text('taskId', taskId, 64), u32('fromId', fromId), u32('toId', toId)],
      );
      if (!rows[0]) return undefined;
      await tx.execute('DELETE FROM im_offline_file WHERE task_id = ?', [taskId]);
      return toModel(rows[0]);
    });
  }

  /** Deletes expired records; returns how many. */
  async purgeExpired(): Promise<number> {
    const res = await this.db.execute('DELETE FROM im_offline_file WHERE expires <= ?', [this.now()]);
    return res.affectedRows;
  }
}
