import { DateTime } from 'luxon';
import { detach } from '../oneroster/csv/line-splitter';

/**
 * OneRoster dates (YYYY-MM-DD) become instants in the domain's time zone. A start date is
 * included and an end date is excluded (OneRoster 1.1: an enrollment's endDate is "exclusive", an
 * academic session's "is excluded from the academic session"), so both become the first moment of
 * their day: an enrollment ending 2025-06-01 ends as that day begins, its last day is 31 May.
 * Memoized because a 1M-row file holds only a few hundred distinct dates and luxon is comparatively
 * slow.
 */
export class ZonedDates {
  private readonly starts = new Map<string, Date>();
  private readonly texts = new Map<Date, string>();

  /** `format` writes an instant the way the database column stores it (see SqlSession.instant) */
  constructor(readonly zone: string, private readonly format: (d: Date) => string = (d) => d.toISOString()) {
    if (!DateTime.now().setZone(zone).isValid) throw new Error(`invalid time zone "${zone}"`);
  }

  /** startOf, formatted for the database (memoized too: formatting per row was a hot spot) */
  startText(date: string): string | null {
    return this.text(this.startOf(date));
  }

  /** the exclusive end: the first moment of that day, as startText */
  endText(date: string): string | null {
    return this.text(this.endOf(date));
  }

  private text(d: Date | null): string | null {
    if (!d) return null;
    let t = this.texts.get(d);
    if (t === undefined) {
      t = this.format(d);
      if (this.texts.size > 20_000) this.texts.clear();
      this.texts.set(d, t);
    }
    return t;
  }

  startOf(date: string): Date | null {
    return this.memo(this.starts, date);
  }

  /** the instant an exclusive end date stands for: the first moment of that day */
  endOf(date: string): Date | null {
    return this.memo(this.starts, date);
  }

  private memo(cache: Map<string, Date>, date: string): Date | null {
    if (!date) return null;
    let hit = cache.get(date);
    if (!hit) {
      const d = DateTime.fromISO(date, { zone: this.zone });
      if (!d.isValid) return null;
      hit = d.startOf('day').toJSDate();
      if (cache.size > 10_000) cache.clear();
      // the key is a slice of the reader's 64 KiB chunk: keep a copy, not the chunk
      cache.set(detach(date), hit);
    }
    return hit;
  }
}
