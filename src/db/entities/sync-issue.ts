import { Column, Entity, ForeignKey, Index, PrimaryGeneratedColumn } from 'typeorm';
import type { Severity } from '../../oneroster/issues';
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

  @Column({ type: 'varchar', length: 255, nullable: true })
  file: string | null;

  @Column({ type: 'integer', nullable: true })
  line: number | null;

  @Column({ name: 'column_name', type: 'varchar', length: 255, nullable: true })
  column: string | null;

  @Column({ name: 'sourced_id', type: 'varchar', length: 300, nullable: true })
  sourcedId: string | null;

  @Column({ type: 'text' })
  message: string;
}
