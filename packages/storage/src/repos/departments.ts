import { SqlDatabase } from '../db';
import { StorageError } from '../errors';
import { Department, DepartStatus, NewDepartment } from '../model';
import { text, u32 } from '../validate';

interface DepartRow {
  id: number;
  name: string;
  priority: number;
  parent_id: number;
  status: number;
  created: number;
  updated: number;
}

const COLUMNS = 'id, name, priority, parent_id, status, created, updated';

function toDepartment(r: DepartRow): Department {
  return {
    id: Number(r.id),
    name: r.name,
    priority: Number(r.priority),
    parentId: Number(r.parent_id),
    status: Number(r.status),
    created: Number(r.created),
    updated: Number(r.updated),
  };
}

export class DepartmentRepository {
  constructor(
    private readonly db: SqlDatabase,
    private readonly now: () => number,
  ) {}

  /** Creates a department. Duplicate name -> StorageError 'DUPLICATE'. */
  async create(input: NewDepartment): Promise<Department> {
    const dept: Department = {
      id: 0,
      name: text('name', input.name, 64, false),
      priority: u32('priority', input.priority ?? 0),
      parentId: u32('parentId', input.parentId ?? 0),
      status: DepartStatus.OK,
      created: 0,
      updated: 0,
    };
    dept.created = dept.updated = this.now();
    try {
      const res = await this.db.execute(
        'INSERT INTO im_depart (name, priority, parent_id, status, created, updated) VALUES (?, ?, ?, ?, ?, ?)',
        [dept.name, dept.priority, dept.parentId, dept.status, dept.created, dept.updated],
      );
      dept.id = res.insertId;
    } catch (err) {
      if (err instanceof StorageError && err.code === 'DUPLICATE') {
        throw new StorageError('DUPLICATE', `department name ${JSON.stringify(dept.name)} is taken`, { cause: err });
      }
      throw err;
    }
    return dept;
  }

  async findById(id: number): Promise<Department | null> {
    const rows = await this.db.query<DepartRow>(`SELECT ${COLUMNS} FROM im_depart WHERE id = ?`, [u32('id', id)]);
    return rows[0] ? toDepartment(rows[0]) : null;
  }

  async findByName(name: string): Promise<Department | null> {
    if (typeof name !== 'string') throw new StorageError('INVALID_ARGUMENT', 'name must be a string');
    const rows = await this.db.query<DepartRow>(`SELECT ${COLUMNS} FROM im_depart WHERE name = ?`, [name]);
    return rows[0] ? toDepartment(rows[0]) : null;
  }

  /** Departments (including deleted ones, so clients learn of deletions) with updated > updatedAfter. */
  async listChangedSince(updatedAfter: number): Promise<Department[]> {
    const rows = await this.db.query<DepartRow>(
      `SELECT ${COLUMNS} FROM im_depart WHERE updated > ? ORDER BY updated, id`,
      [u32('updatedAfter', updatedAfter)],
    );
    return rows.map(toDepartment);
  }

  /** Highest `updated` of any department (0 when there is none). */
  async maxUpdated(): Promise<number> {
    const rows = await this.db.query<{ m: number | null }>('SELECT MAX(updated) AS m FROM im_depart');
    return Number(rows[0]?.m ?? 0);
  }

  /** Marks a department deleted (status 1) and bumps `updated`. Unknown id -> 'NOT_FOUND'. */
  async remove(id: number): Promise<void> {
    const res = await this.db.execute('UPDATE im_depart SET status = ?, updated = ? WHERE id = ?', [DepartStatus.DELETED, this.now(), u32('id', id)]);
    if (res.affectedRows === 0 && !(await this.findById(id))) throw new StorageError('NOT_FOUND', `no department ${id}`);
  }
}
