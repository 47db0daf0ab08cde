import { Column, CreateDateColumn, Entity, ForeignKey, Index, PrimaryColumn } from 'typeorm';
import { User } from './user';

/**
 * A signed-in web admin. The cookie holds a random token; only its SHA-256 is stored, so a copy
 * of the database does not sign anyone in. Deleting the row (sign-out, revocation, the user's
 * removal) ends the session at once.
 */
@Entity('web_session')
@Index('ix_web_session_user', ['userId'])
export class WebSession {
  /** hex SHA-256 of the cookie's token */
  @PrimaryColumn({ name: 'token_hash', type: 'varchar', length: 64 })
  tokenHash: string;

  @ForeignKey(() => User, { onDelete: 'CASCADE' })
  @Column({ name: 'user_id', type: 'integer' })
  userId: number;

  @Column({ type: 'varchar', length: 255 })
  login: string;

  /** the synchronizer token every state-changing form of this session must send back */
  @Column({ name: 'csrf_token', type: 'varchar', length: 64 })
  csrfToken: string;

  @Column({ type: 'varchar', length: 64, nullable: true })
  ip: string | null;

  @CreateDateColumn({ name: 'created_at' })
  createdAt: Date;

  @Column({ name: 'last_seen_at', type: Date })
  lastSeenAt: Date;

  @Column({ name: 'expires_at', type: Date })
  expiresAt: Date;
}
