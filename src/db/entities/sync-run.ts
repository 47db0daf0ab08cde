import { Column, CreateDateColumn, Entity, ForeignKey, Index, PrimaryGeneratedColumn } from 'typeorm';
import type { RunStatus, SyncSource } from '../../sync/types';
import { Domain } from './domain';

/** One row per sync (queued, running or finished): the domain's sync history. */
@Entity('sync_run')
@Index('ix_sync_run_domain', ['domainId', 'id'])
@Index('ix_sync_run_status', ['status', 'id'])
// one queued run per upload still in a drop folder: two daemons that see the same file cannot both queue it
@Index('uq_sync_run_pending_upload', ['uploadPath'], { unique: true, where: 'queued_path IS NULL AND upload_path IS NOT NULL' })
export class SyncRun {
  @PrimaryGeneratedColumn()
  id: number;

  @ForeignKey(() => Domain, { onDelete: 'CASCADE' })
  @Column({ name: 'domain_id', type: 'integer' })
  domainId: number;

  @Column({ type: 'varchar', length: 16 })
  source: SyncSource;

  @Column({ name: 'file_name', type: 'varchar', length: 255 })
  fileName: string;

  @Column({ type: 'varchar', length: 64, nullable: true })
  sha256: string | null;

  @Column({ name: 'size_bytes', type: 'bigint', nullable: true, transformer: { to: (v: number | null) => v, from: (v: string | number | null) => (v === null ? null : Number(v)) } })
  sizeBytes: number | null;

  @Column({ type: 'varchar', length: 16 })
  mode: 'apply' | 'validate';

  @Column({ type: 'boolean', default: false })
  forced: boolean;

  @Column({ type: 'varchar', length: 24 })
  status: RunStatus;

  @Column({ type: 'text', default: '' })
  message: string;

  /** JSON text: SyncCounts */
  @Column({ type: 'text', nullable: true })
  counts: string | null;

  /** JSON text: milliseconds per phase (read, validate, plan, apply, commit) */
  @Column({ type: 'text', nullable: true })
  timings: string | null;

  @Column({ name: 'error_count', type: 'integer', default: 0 })
  errorCount: number;

  @Column({ name: 'warning_count', type: 'integer', default: 0 })
  warningCount: number;

  @Column({ name: 'info_count', type: 'integer', default: 0 })
  infoCount: number;

  @Column({ name: 'started_at', type: Date, nullable: true })
  startedAt: Date | null;

  @Column({ name: 'finished_at', type: Date, nullable: true })
  finishedAt: Date | null;

  @Column({ name: 'duration_ms', type: 'integer', nullable: true })
  durationMs: number | null;

  /** where the upload arrived (the domain's drop folder) */
  @Column({ name: 'upload_path', type: 'text', nullable: true })
  uploadPath: string | null;

  /** where the file waits for its sync (the queue area), once moved there */
  @Column({ name: 'queued_path', type: 'text', nullable: true })
  queuedPath: string | null;

  /** `userspace/username` of the FTPS login, when known */
  @Column({ name: 'uploaded_by', type: 'varchar', length: 320, nullable: true })
  uploadedBy: string | null;

  /** starts of this run; above 1 when a crash or restart interrupted it */
  @Column({ type: 'integer', default: 0 })
  attempts: number;

  /** new users whose password still had to be hashed when the run committed */
  @Column({ name: 'passwords_pending', type: 'integer', default: 0 })
  passwordsPending: number;

  /** the first user id the run created: the users hashing looks at */
  @Column({ name: 'passwords_from_user_id', type: 'integer', nullable: true })
  passwordsFromUserId: number | null;

  /** where the run's file can be read again to resume hashing (the archive, once moved there) */
  @Column({ name: 'password_source', type: 'text', nullable: true })
  passwordSource: string | null;

  /** when hashing ended (done, or given up); null while some may be left */
  @Column({ name: 'passwords_done_at', type: Date, nullable: true })
  passwordsDoneAt: Date | null;

  /** the run ended, but its result files (and the archiving of its file) are still to be made */
  @Column({ name: 'report_pending', type: 'boolean', default: false })
  reportPending: boolean;

  /** the run ended, but its report mail is still to be sent */
  @Column({ name: 'mail_pending', type: 'boolean', default: false })
  mailPending: boolean;

  /** when a daemon took the mail on: another leaves it alone for a while (report-state.ts) */
  @Column({ name: 'mail_claimed_at', type: Date, nullable: true })
  mailClaimedAt: Date | null;

  /** a held run an administrator approved: the runner applies it past the threshold (services/held-runs.ts) */
  @Column({ type: 'boolean', default: false })
  approved: boolean;

  /** who approved or discarded a held run (`userspace/username`, or the CLI's operator) */
  @Column({ name: 'decided_by', type: 'varchar', length: 320, nullable: true })
  decidedBy: string | null;

  @Column({ name: 'decided_at', type: Date, nullable: true })
  decidedAt: Date | null;

  /** where a held run's upload waits for the decision (`<dataDir>/held/`); null once it is decided */
  @Column({ name: 'held_path', type: 'text', nullable: true })
  heldPath: string | null;

  @CreateDateColumn({ name: 'created_at' })
  createdAt: Date;
}
