import { Column, CreateDateColumn, Entity, ForeignKey, Index, PrimaryGeneratedColumn } from 'typeorm';
import { User } from './user';

/** An observer (parent, guardian, relative) attached to a student. */
@Entity('observer_link')
@Index('uq_observer_link', ['observerId', 'studentId'], { unique: true })
export class ObserverLink {
  @PrimaryGeneratedColumn()
  id: number;

  @ForeignKey(() => User, { onDelete: 'CASCADE' })
  @Column({ name: 'observer_id', type: 'integer' })
  observerId: number;

  @Index('ix_observer_link_student')
  @ForeignKey(() => User, { onDelete: 'CASCADE' })
  @Column({ name: 'student_id', type: 'integer' })
  studentId: number;

  @Index('ix_observer_link_external_id')
  @Column({ name: 'external_id', type: 'varchar', length: 1100, nullable: true })
  externalId: string | null;

  @CreateDateColumn({ name: 'created_at' })
  createdAt: Date;
}
