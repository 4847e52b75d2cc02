// The persistent queue and history: one SQLite file (WAL) holding jobs, their recorded events and named workflows.
// Every state change is written before it is announced, so a kill -9 loses nothing that a client was told.
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import path from 'node:path';

export type JobStatus = 'queued' | 'running' | 'done' | 'error' | 'cancelled' | 'interrupted';
export const FINISHED: readonly JobStatus[] = ['done', 'error', 'cancelled', 'interrupted'];

/** A file a job produced, addressed the way ComfyUI's /view addresses it. */
export interface FileRef {
  filename: string;
  subfolder: string;
  /** Which folder GET /view reads: the outputs, the uploads, or the training checkpoints kept across jobs. */
  type: 'output' | 'input' | 'checkpoints';
  kind?: string;
  mime?: string;
}
export type JobOutputs = Record<string, { files: FileRef[]; values?: Record<string, unknown> }>;

export interface JobRecord {
  id: string;
  number: number;
  status: JobStatus;
  workflow: unknown;
  clientId: string | null;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  outputs: JobOutputs;
  error: unknown | null;
}

export interface JobEvent {
  seq: number;
  type: string;
  data: unknown;
  at: number;
}

interface JobRow {
  id: string;
  number: number;
  status: JobStatus;
  workflow: string;
  client_id: string | null;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  outputs: string;
  error: string | null;
}

// Migrations run in order; PRAGMA user_version records how many have been applied.
const MIGRATIONS: string[] = [
  `CREATE TABLE jobs (
     id TEXT PRIMARY KEY,
     number INTEGER NOT NULL UNIQUE,
     status TEXT NOT NULL CHECK (status IN ('queued','running','done','error','cancelled','interrupted')),
     workflow TEXT NOT NULL,
     client_id TEXT,
     created_at INTEGER NOT NULL,
     started_at INTEGER,
     finished_at INTEGER,
     outputs TEXT NOT NULL DEFAULT '{}',
     error TEXT
   );
   CREATE INDEX jobs_status_number ON jobs (status, number);
   CREATE TABLE job_events (
     job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
     seq INTEGER NOT NULL,
     type TEXT NOT NULL,
     data TEXT NOT NULL,
     at INTEGER NOT NULL,
     PRIMARY KEY (job_id, seq)
   );
   CREATE TABLE workflows (
     name TEXT PRIMARY KEY,
     workflow TEXT NOT NULL,
     updated_at INTEGER NOT NULL
   );`,
];

function toRecord(row: JobRow): JobRecord {
  return {
    id: row.id,
    number: row.number,
    status: row.status,
    workflow: JSON.parse(row.workflow),
    clientId: row.client_id,
    createdAt: row.created_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    outputs: JSON.parse(row.outputs) as JobOutputs,
    error: row.error === null ? null : JSON.parse(row.error),
  };
}

export class JobStore {
  readonly db: Database.Database;
  private readonly eventSeq = new Map<string, number>();
  private readonly statements = new Map<string, Database.Statement>();

  /** Prepared statements are cached: preparing costs more than running these small queries. */
  private sql(text: string): Database.Statement {
    let st = this.statements.get(text);
    if (!st) {
      st = this.db.prepare(text);
      this.statements.set(text, st);
    }
    return st;
  }

  constructor(file: string) {
    if (file !== ':memory:') mkdirSync(path.dirname(file), { recursive: true });
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('foreign_keys = ON');
    // NORMAL is durable across process crashes in WAL mode (only an OS crash can lose the last commits).
    this.db.pragma('synchronous = NORMAL');
    this.migrate();
  }

  private migrate(): void {
    const version = this.db.pragma('user_version', { simple: true }) as number;
    if (version > MIGRATIONS.length) {
      throw Object.assign(new Error(`database schema version ${version} is newer than this kosmos-g (${MIGRATIONS.length})`), {
        code: 'DB_TOO_NEW',
      });
    }
    for (let v = version; v < MIGRATIONS.length; v++) {
      this.db.transaction(() => {
        this.db.exec(MIGRATIONS[v]!);
        this.db.pragma(`user_version = ${v + 1}`);
      })();
    }
  }

  addJob(job: { id: string; workflow: unknown; clientId?: string | null }): JobRecord {
    const now = Date.now();
    const insert = this.db.transaction(() => {
      const { next } = this.sql('SELECT COALESCE(MAX(number), 0) + 1 AS next FROM jobs').get() as { next: number };
      this
        .sql('INSERT INTO jobs (id, number, status, workflow, client_id, created_at) VALUES (?, ?, ?, ?, ?, ?)')
        .run(job.id, next, 'queued', JSON.stringify(job.workflow), job.clientId ?? null, now);
    });
    insert();
    return this.get(job.id)!;
  }

  get(id: string): JobRecord | undefined {
    const row = this.sql('SELECT * FROM jobs WHERE id = ?').get(id) as JobRow | undefined;
    return row ? toRecord(row) : undefined;
  }

  /** Jobs with the given statuses, oldest first (by number). */
  list(statuses: readonly JobStatus[], options: { limit?: number; offset?: number; newestFirst?: boolean } = {}): JobRecord[] {
    const marks = statuses.map(() => '?').join(',');
    const order = options.newestFirst ? 'DESC' : 'ASC';
    const rows = this
      .sql(`SELECT * FROM jobs WHERE status IN (${marks}) ORDER BY number ${order} LIMIT ? OFFSET ?`)
      .all(...statuses, options.limit ?? -1, options.offset ?? 0) as JobRow[];
    return rows.map(toRecord);
  }

  count(statuses: readonly JobStatus[]): number {
    const marks = statuses.map(() => '?').join(',');
    return (this.sql(`SELECT COUNT(*) AS n FROM jobs WHERE status IN (${marks})`).get(...statuses) as { n: number }).n;
  }

  nextQueued(): JobRecord | undefined {
    const row = this.sql("SELECT * FROM jobs WHERE status = 'queued' ORDER BY number LIMIT 1").get() as JobRow | undefined;
    return row ? toRecord(row) : undefined;
  }

  /** queued → running; false when the job is no longer queued (cancelled meanwhile). */
  markRunning(id: string): boolean {
    const r = this
      .sql("UPDATE jobs SET status = 'running', started_at = ? WHERE id = ? AND status = 'queued'")
      .run(Date.now(), id);
    return r.changes === 1;
  }

  /** Moves a queued or running job to a finished status; false when it had already finished. */
  finish(id: string, status: JobStatus, error?: unknown): boolean {
    const r = this
      .sql("UPDATE jobs SET status = ?, finished_at = ?, error = ? WHERE id = ? AND status IN ('queued','running')")
      .run(status, Date.now(), error === undefined ? null : JSON.stringify(error), id);
    return r.changes === 1;
  }

  setOutputs(id: string, outputs: JobOutputs): void {
    this.sql('UPDATE jobs SET outputs = ? WHERE id = ?').run(JSON.stringify(outputs), id);
  }

  /** At start-up: jobs left 'running' by a crash become 'interrupted' (their partial outputs stay). */
  recoverInterrupted(): string[] {
    const ids = (this.sql("SELECT id FROM jobs WHERE status = 'running'").all() as { id: string }[]).map((r) => r.id);
    const now = Date.now();
    const mark = this.sql(
      "UPDATE jobs SET status = 'interrupted', finished_at = ?, error = ? WHERE id = ? AND status = 'running'",
    );
    const error = JSON.stringify({ code: 'INTERRUPTED', message: 'the server stopped while this job was running' });
    this.db.transaction(() => ids.forEach((id) => mark.run(now, error, id)))();
    return ids;
  }

  addEvent(jobId: string, type: string, data: unknown): void {
    let seq = this.eventSeq.get(jobId);
    if (seq === undefined) {
      const row = this.sql('SELECT COALESCE(MAX(seq), 0) AS s FROM job_events WHERE job_id = ?').get(jobId) as { s: number };
      seq = row.s;
    }
    seq += 1;
    this.eventSeq.set(jobId, seq);
    this.sql('INSERT INTO job_events (job_id, seq, type, data, at) VALUES (?, ?, ?, ?, ?)').run(jobId, seq, type, JSON.stringify(data), Date.now());
  }

  events(jobId: string, after = 0): JobEvent[] {
    const rows = this
      .sql('SELECT seq, type, data, at FROM job_events WHERE job_id = ? AND seq > ? ORDER BY seq')
      .all(jobId, after) as { seq: number; type: string; data: string; at: number }[];
    return rows.map((r) => ({ seq: r.seq, type: r.type, data: JSON.parse(r.data), at: r.at }));
  }

  /** Deletes jobs whose status is one of `statuses`; returns the ids deleted. */
  deleteJobs(ids: readonly string[], statuses: readonly JobStatus[]): string[] {
    const marks = statuses.map(() => '?').join(',');
    const del = this.sql(`DELETE FROM jobs WHERE id = ? AND status IN (${marks})`);
    const deleted: string[] = [];
    this.db.transaction(() => {
      for (const id of ids) if (del.run(id, ...statuses).changes === 1) deleted.push(id);
    })();
    for (const id of deleted) this.eventSeq.delete(id);
    return deleted;
  }

  deleteAll(statuses: readonly JobStatus[]): number {
    const marks = statuses.map(() => '?').join(',');
    const ids = (this.sql(`SELECT id FROM jobs WHERE status IN (${marks})`).all(...statuses) as { id: string }[]).map((r) => r.id);
    return this.deleteJobs(ids, statuses).length;
  }

  saveWorkflow(name: string, workflow: unknown): void {
    this
      .sql(
        'INSERT INTO workflows (name, workflow, updated_at) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET workflow = excluded.workflow, updated_at = excluded.updated_at',
      )
      .run(name, JSON.stringify(workflow), Date.now());
  }

  getWorkflow(name: string): unknown | undefined {
    const row = this.sql('SELECT workflow FROM workflows WHERE name = ?').get(name) as { workflow: string } | undefined;
    return row ? JSON.parse(row.workflow) : undefined;
  }

  listWorkflows(): { name: string; updatedAt: number }[] {
    return (this.sql('SELECT name, updated_at FROM workflows ORDER BY name').all() as { name: string; updated_at: number }[]).map(
      (r) => ({ name: r.name, updatedAt: r.updated_at }),
    );
  }

  deleteWorkflow(name: string): boolean {
    return this.sql('DELETE FROM workflows WHERE name = ?').run(name).changes === 1;
  }

  close(): void {
    this.db.close();
  }
}
