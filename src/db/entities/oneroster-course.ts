import { Column, Entity, Index } from 'typeorm';
import { KeptRecord } from './kept-record';

/**
 * A OneRoster course as the last sync of a domain sent it. Not an LMS entity: the LMS holds the
 * base courses derived from it. It is kept so that a delta file's class may name a course an
 * earlier file sent and still get its teacher and term base courses (migration KeptRosterRecords).
 */
@Entity('oneroster_course')
@Index('uq_oneroster_course', ['domainId', 'externalId'], { unique: true })
export class OneRosterCourse extends KeptRecord {
  @Column({ type: 'text' })
  title: string;

  /** courseCode: part of the derived base courses' titles */
  @Column({ type: 'text', nullable: true })
  code: string | null;

  @Column({ name: 'org_sid', type: 'varchar', length: 255 })
  orgSid: string;

  @Column({ name: 'school_year_sid', type: 'varchar', length: 255, nullable: true })
  schoolYearSid: string | null;

  /** the derived base courses' metadata, as the sync writes it */
  @Column({ type: 'text', nullable: true })
  metadata: string | null;
}
