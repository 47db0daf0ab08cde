import { Column, Entity, ForeignKey, Index, PrimaryGeneratedColumn } from 'typeorm';
import { ISSUE_TEXT_LIMITS, type Severity } from '../../oneroster/issues';
import { SyncRun } from './sync-run';

@Entity('sync_issue')
@Index('ix_sync_issue_run', ['runId', 'seq'])
export class SyncIssueRow {
  @PrimaryGeneratedColumn()
  id: number;

  @ForeignKey(() => SyncRun, { onDelete: 'CASCADE' })
  @Column({ name: 'run_id', type: 'integer' })
  runId: number;

  /** order within the run */
  @Column({ type: 'integer' })
  seq: number;

  @Column({ type: 'varchar', length: 8 })
  severity: Severity;

  @Column({ type: 'varchar', length: 48 })
  code: string;

  // the lengths are the limits issues are shortened to (oneroster/issues.ts)
  @Column({ type: 'varchar', length: ISSUE_TEXT_LIMITS.file, nullable: true })
  file: string | null;

  @Column({ type: 'integer', nullable: true })
  line: number | null;

  @Column({ name: 'column_name', type: 'varchar', length: ISSUE_TEXT_LIMITS.column, nullable: true })
  column: string | null;

  @Column({ name: 'sourced_id', type: 'varchar', length: ISSUE_TEXT_LIMITS.sourcedId, nullable: true })
  sourcedId: string | null;

  /** at most ISSUE_TEXT_LIMITS.message characters */
  @Column({ type: 'text' })
  message: string;
}
