import { Column, Entity, ForeignKey, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import { Domain } from './domain';

export type UnsharedCourses = 'nothing' | 'delete';
export type UnsharedEnrollments = 'nothing' | 'inactive' | 'withdrawn' | 'delete';
export type UnsharedUsers = 'nothing' | 'inactive' | 'delete';

/** Per-domain sync settings (product-rules.md). A domain without a row uses the defaults. */
@Entity('sync_settings')
export class SyncSettingsRow {
  @ForeignKey(() => Domain, { onDelete: 'CASCADE' })
  @PrimaryColumn({ name: 'domain_id', type: 'integer' })
  domainId: number;

  @Column({ name: 'time_zone', type: 'varchar', length: 64, default: 'UTC' })
  timeZone: string;

  /** JSON text: string[] */
  @Column({ name: 'notification_emails', type: 'text', default: '[]' })
  notificationEmails: string;

  @Column({ name: 'org_base_courses', type: 'boolean', default: false })
  orgBaseCourses: boolean;

  @Column({ name: 'teacher_base_courses', type: 'boolean', default: false })
  teacherBaseCourses: boolean;

  @Column({ name: 'term_base_courses', type: 'boolean', default: false })
  termBaseCourses: boolean;

  @Column({ name: 'unshared_courses', type: 'varchar', length: 16, default: 'nothing' })
  unsharedCourses: UnsharedCourses;

  @Column({ name: 'teacher_role', type: 'varchar', length: 64, default: 'Teacher' })
  teacherRole: string;

  @Column({ name: 'student_role', type: 'varchar', length: 64, default: 'Student' })
  studentRole: string;

  @Column({ name: 'administrator_role', type: 'varchar', length: 64, default: 'Teacher' })
  administratorRole: string;

  @Column({ name: 'proctor_role', type: 'varchar', length: 64, default: 'Teacher' })
  proctorRole: string;

  @Column({ name: 'unshared_enrollments', type: 'varchar', length: 16, default: 'nothing' })
  unsharedEnrollments: UnsharedEnrollments;

  @Column({ name: 'ignore_sis_dates', type: 'boolean', default: false })
  ignoreSisDates: boolean;

  @Column({ name: 'unshared_users', type: 'varchar', length: 16, default: 'nothing' })
  unsharedUsers: UnsharedUsers;

  /** refuse a sync that removes or deactivates more than this share of a kind of entity */
  @Column({ name: 'safety_threshold_percent', type: 'integer', default: 10 })
  safetyThresholdPercent: number;

  @Column({ name: 'auto_commit', type: 'boolean', default: true })
  autoCommit: boolean;

  @UpdateDateColumn({ name: 'updated_at' })
  updatedAt: Date;
}
