import { Column, CreateDateColumn, Entity, ForeignKey, Index, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import { Domain } from './domain';
import { User } from './user';

export type CourseKind = 'org_base' | 'teacher_base' | 'term_base' | 'section';
export type CourseStatus = 'active' | 'deleted';

@Entity('course')
export class Course {
  @PrimaryGeneratedColumn()
  id: number;

  @Index('ix_course_domain')
  @ForeignKey(() => Domain, { onDelete: 'RESTRICT' })
  @Column({ name: 'domain_id', type: 'integer' })
  domainId: number;

  @Column({ type: 'varchar', length: 16 })
  kind: CourseKind;

  @Column({ type: 'varchar', length: 1024 })
  title: string;

  /** the course this one derives from: content added there flows here */
  @Index('ix_course_base')
  @ForeignKey(() => Course, { onDelete: 'SET NULL' })
  @Column({ name: 'base_course_id', type: 'integer', nullable: true })
  baseCourseId: number | null;

  /** the primary teacher who owns a teacher or term base course */
  @ForeignKey(() => User, { onDelete: 'SET NULL' })
  @Column({ name: 'owner_user_id', type: 'integer', nullable: true })
  ownerUserId: number | null;

  @Column({ type: 'varchar', length: 255, nullable: true })
  term: string | null;

  @Column({ name: 'start_at', type: Date, nullable: true })
  startAt: Date | null;

  @Column({ name: 'end_at', type: Date, nullable: true })
  endAt: Date | null;

  @Column({ type: 'varchar', length: 16, default: 'active' })
  status: CourseStatus;

  @Index('ix_course_external_id')
  @Column({ name: 'external_id', type: 'varchar', length: 1100, nullable: true })
  externalId: string | null;

  @Column({ type: 'text', nullable: true })
  metadata: string | null;

  @CreateDateColumn({ name: 'created_at' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at' })
  updatedAt: Date;
}
