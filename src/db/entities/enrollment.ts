import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';

export type EnrollmentStatus = 'active' | 'inactive' | 'withdrawn' | 'deleted';

@Entity('enrollment')
export class Enrollment {
  @PrimaryGeneratedColumn()
  id: number;

  @Index('ix_enrollment_course')
  @Column({ name: 'course_id', type: 'integer' })
  courseId: number;

  @Index('ix_enrollment_user')
  @Column({ name: 'user_id', type: 'integer' })
  userId: number;

  @Column({ name: 'domain_id', type: 'integer' })
  domainId: number;

  /** an LMS role name from the domain's settings, e.g. "Student" */
  @Column({ type: 'varchar', length: 64 })
  role: string;

  @Column({ type: 'varchar', length: 16, default: 'active' })
  status: EnrollmentStatus;

  @Column({ name: 'start_at', type: Date, nullable: true })
  startAt: Date | null;

  @Column({ name: 'end_at', type: Date, nullable: true })
  endAt: Date | null;

  @Index('ix_enrollment_external_id')
  @Column({ name: 'external_id', type: 'varchar', length: 1100, nullable: true })
  externalId: string | null;

  @Column({ type: 'text', nullable: true })
  metadata: string | null;

  @CreateDateColumn({ name: 'created_at' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at' })
  updatedAt: Date;
}
