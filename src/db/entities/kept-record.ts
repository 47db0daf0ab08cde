import { Column, ForeignKey, PrimaryGeneratedColumn } from 'typeorm';
import { Domain } from './domain';

/**
 * What every kept OneRoster record has (src/sync/apply/kept-records.ts): the record as the last
 * sync of a domain sent it, unique per domain and external ID.
 */
export abstract class KeptRecord {
  @PrimaryGeneratedColumn()
  id: number;

  /** the domain whose syncs sent it (the sync's own domain) */
  @ForeignKey(() => Domain, { onDelete: 'CASCADE' })
  @Column({ name: 'domain_id', type: 'integer' })
  domainId: number;

  /** `or-` + sourcedId */
  @Column({ name: 'external_id', type: 'varchar', length: 300 })
  externalId: string;
}
