import { Column, CreateDateColumn, Entity, ForeignKey, Index, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import { Domain } from './domain';

export type UserStatus = 'active' | 'inactive' | 'deleted';
export const ADMINISTRATOR_ROLE = 'Administrator';

@Entity('lms_user')
@Index('uq_user_domain_username', ['domainId', 'username'], { unique: true })
export class User {
  @PrimaryGeneratedColumn()
  id: number;

  @Index('ix_user_domain')
  @ForeignKey(() => Domain, { onDelete: 'RESTRICT' })
  @Column({ name: 'domain_id', type: 'integer' })
  domainId: number;

  @Column({ type: 'varchar', length: 255 })
  username: string;

  @Column({ name: 'given_name', type: 'varchar', length: 255, default: '' })
  givenName: string;

  @Column({ name: 'family_name', type: 'varchar', length: 255, default: '' })
  familyName: string;

  @Column({ type: 'varchar', length: 320, nullable: true })
  email: string | null;

  /** scrypt hash (see util/passwords.ts); null = no password login until reset */
  @Column({ name: 'password_hash', type: 'varchar', length: 255, nullable: true })
  passwordHash: string | null;

  /** account-level LMS roles as JSON text, e.g. ["Administrator"]; a sync never changes them */
  @Column({ type: 'text', default: '[]' })
  roles: string;

  @Column({ type: 'varchar', length: 16, default: 'active' })
  status: UserStatus;

  @Index('ix_user_external_id')
  @Column({ name: 'external_id', type: 'varchar', length: 300, nullable: true })
  externalId: string | null;

  @Column({ type: 'text', nullable: true })
  metadata: string | null;

  @CreateDateColumn({ name: 'created_at' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at' })
  updatedAt: Date;
}
