import { Column, Entity, Index } from 'typeorm';
import { KeptRecord } from './kept-record';

/**
 * A OneRoster class as the last sync of a domain sent it. The LMS holds its section course, but not
 * its course, school and terms, from which its base courses derive: kept so that a delta file that
 * leaves the class out still leaves its base courses as they were (migration KeptRosterRecords).
 */
@Entity('oneroster_class')
@Index('uq_oneroster_class', ['domainId', 'externalId'], { unique: true })
export class OneRosterClass extends KeptRecord {
  @Column({ type: 'text' })
  title: string;

  @Column({ name: 'course_sid', type: 'varchar', length: 255 })
  courseSid: string;

  @Column({ name: 'school_sid', type: 'varchar', length: 255 })
  schoolSid: string;

  @Column({ name: 'first_term_sid', type: 'varchar', length: 255, nullable: true })
  firstTermSid: string | null;

  /** termSourcedIds as a JSON list */
  @Column({ name: 'term_sids', type: 'text' })
  termSids: string;

  /** the section's metadata, as the sync writes it */
  @Column({ type: 'text', nullable: true })
  metadata: string | null;
}
