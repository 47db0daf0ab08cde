import { Column, Entity, Index } from 'typeorm';
import { KeptRecord } from './kept-record';

/**
 * A OneRoster academic session (term, semester, school year) as the last sync of a domain sent it.
 * Not an LMS entity: the LMS keeps a course's term and dates, not the session. It is kept so that a
 * delta file may name a term sent earlier, as it may a user or a class (migration AcademicSessions).
 */
@Entity('academic_session')
@Index('uq_academic_session', ['domainId', 'externalId'], { unique: true })
export class AcademicSession extends KeptRecord {
  @Column({ type: 'text' })
  title: string;

  @Column({ type: 'varchar', length: 32 })
  type: string;

  /** YYYY-MM-DD as in the file; turned into instants in the domain's time zone when used */
  @Column({ name: 'start_date', type: 'varchar', length: 10 })
  startDate: string;

  @Column({ name: 'end_date', type: 'varchar', length: 10 })
  endDate: string;

  @Column({ name: 'school_year', type: 'varchar', length: 16 })
  schoolYear: string;

  @Column({ name: 'parent_sid', type: 'varchar', length: 255, nullable: true })
  parentSid: string | null;
}
