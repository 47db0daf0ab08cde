import { Column, CreateDateColumn, Entity, Index, ManyToOne, JoinColumn, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';

/** A tenant. `userspace` is the login prefix (`userspace/username`). */
@Entity('domain')
export class Domain {
  @PrimaryGeneratedColumn()
  id: number;

  @Index('uq_domain_userspace', { unique: true })
  @Column({ type: 'varchar', length: 64 })
  userspace: string;

  @Column({ type: 'varchar', length: 255 })
  name: string;

  @Column({ name: 'parent_id', type: 'integer', nullable: true })
  parentId: number | null;

  @ManyToOne(() => Domain, { nullable: true, onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'parent_id' })
  parent?: Domain | null;

  /** `or-` + org sourcedId when the domain is managed by a sync */
  @Index('ix_domain_external_id')
  @Column({ name: 'external_id', type: 'varchar', length: 300, nullable: true })
  externalId: string | null;

  /** JSON text (org type, identifier, metadata.* columns) */
  @Column({ type: 'text', nullable: true })
  metadata: string | null;

  @CreateDateColumn({ name: 'created_at' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at' })
  updatedAt: Date;
}
