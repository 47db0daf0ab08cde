import { Column, Entity, ForeignKey, Index, PrimaryGeneratedColumn } from 'typeorm';
import { SyncRun } from './sync-run';

/**
 * What a held run would remove or deactivate, one row per entity: browsable (paged) before an
 * administrator approves, and compared with the new plan when approved (engine.ts). Every removal
 * is kept: a district's 1M enrollments make 1M rows, written in batches.
 */
@Entity('held_removal')
// run_id first: the run's page reads it in order; with entity and external_id, approval compares by index
@Index('ix_held_removal_run', ['runId', 'entity', 'externalId'])
export class HeldRemoval {
  @PrimaryGeneratedColumn()
  id: number;

  @ForeignKey(() => SyncRun, { onDelete: 'CASCADE' })
  @Column({ name: 'run_id', type: 'integer' })
  runId: number;

  /** users, courses or enrollments */
  @Column({ type: 'varchar', length: 16 })
  entity: string;

  /** the LMS external ID (`or-` + the sourcedId, or a derived base course's key) */
  @Column({ name: 'external_id', type: 'text' })
  externalId: string;

  /** the user's name, the course title, or "user — course" for an enrollment */
  @Column({ type: 'text', default: '' })
  name: string;
}
