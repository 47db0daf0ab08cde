import { Column, CreateDateColumn, Entity, ForeignKey, Index, PrimaryGeneratedColumn } from 'typeorm';
import { Domain } from './domain';

/** Who changed which sync setting of a domain, when, from what to what, and through what (web, api, cli). */
@Entity('settings_change')
@Index('ix_settings_change_domain', ['domainId', 'id'])
export class SettingsChange {
  @PrimaryGeneratedColumn()
  id: number;

  @ForeignKey(() => Domain, { onDelete: 'CASCADE' })
  @Column({ name: 'domain_id', type: 'integer' })
  domainId: number;

  @Column({ name: 'changed_by', type: 'varchar', length: 255 })
  changedBy: string;

  @Column({ type: 'varchar', length: 16 })
  via: string;

  @Column({ type: 'varchar', length: 64 })
  setting: string;

  /** JSON text of the value before and after */
  @Column({ name: 'old_value', type: 'text' })
  oldValue: string;

  @Column({ name: 'new_value', type: 'text' })
  newValue: string;

  @CreateDateColumn({ name: 'changed_at' })
  changedAt: Date;
}
