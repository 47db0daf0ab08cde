/**
 * Orgs become domains under the sync's root domain: created with name and parent, and afterwards
 * only their metadata follows the file (name and parent are the LMS's once created). A root whose
 * external ID is `or-<org>` is that org. Domains are never removed by a sync.
 */
import { externalId } from '../external-ids';
import { type ApplyContext, MANAGED, IN_SCOPE, refreshScope } from './context';

interface OrgRow { line: number; sid: string; name: string; parent_sid: string | null; metadata: string | null; deleted: number }

export async function applyDomains(ctx: ApplyContext): Promise<void> {
  const { db } = ctx;
  const orgs = await db.query<OrgRow>('SELECT line, sid, name, parent_sid, metadata, deleted FROM stage_orgs WHERE ok = 1 ORDER BY line');
  const live = new Map<string, { id: number; metadata: string | null }>();
  for (const d of await db.query<{ id: number; external_id: string; metadata: string | null }>(
    `SELECT id, external_id, metadata FROM domain WHERE ${MANAGED} AND id IN ${IN_SCOPE} ORDER BY id`)) {
    if (!live.has(d.external_id)) live.set(d.external_id, { id: Number(d.id), metadata: d.metadata });
  }
  const bySid = new Map(orgs.map((o) => [o.sid, o]));
  const domainOf = new Map<string, number>();

  // parents before children; the reference checks rejected cycles and children of rejected parents,
  // and warned of parents that name nothing here (such an org goes under the root, below)
  const ordered: OrgRow[] = [];
  const placed = new Set<string>();
  const place = (o: OrgRow): void => {
    if (placed.has(o.sid)) return;
    placed.add(o.sid);
    const parent = o.parent_sid ? bySid.get(o.parent_sid) : undefined;
    if (parent) place(parent);
    ordered.push(o);
  };
  orgs.forEach(place);

  for (const o of ordered) {
    const ext = externalId(o.sid);
    if (o.deleted) {
      ctx.issues.info('apply.unshared_skipped', { file: 'orgs.csv', line: o.line, sourcedId: o.sid }, `org "${o.sid}" is marked tobedeleted; a sync never removes domains`);
    }
    const existing = live.get(ext);
    // tobedeleted for an org the LMS never had: nothing to remove, and nothing to create either
    if (o.deleted && !existing) continue;
    if (existing) {
      domainOf.set(o.sid, existing.id);
      if (existing.metadata !== o.metadata) {
        await db.run('UPDATE domain SET metadata = $1, updated_at = $2 WHERE id = $3', [o.metadata, ctx.now, existing.id]);
        ctx.counts.domains.updated++;
      } else ctx.counts.domains.unchanged++;
      continue;
    }
    const parentId = o.parent_sid && domainOf.has(o.parent_sid)
      ? domainOf.get(o.parent_sid)!
      : (o.parent_sid && live.get(externalId(o.parent_sid))?.id) || ctx.root.id;
    const userspace = await freeUserspace(ctx, o.sid);
    const [row] = await db.query<{ id: number }>(
      `INSERT INTO domain (userspace, name, parent_id, external_id, metadata, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id`, [userspace, o.name.slice(0, 255), parentId, ext, o.metadata, ctx.now]);
    domainOf.set(o.sid, Number(row.id));
    live.set(ext, { id: Number(row.id), metadata: o.metadata });
    ctx.counts.domains.created++;
  }

  await refreshScope(db, ctx.root.id);
  // org sourcedId → domain, for every managed domain in scope (delta files may reference orgs not in the file)
  await db.run('DROP TABLE IF EXISTS org_domain');
  await db.run(`CREATE ${db.scratch} org_domain (sid text PRIMARY KEY, domain_id integer)`);
  const rows = [...live.entries()].map(([ext, d]) => [ext.slice(3), d.id]);
  const unique = new Map(rows.map((r) => [r[0] as string, r]));
  await db.load('org_domain', ['sid', 'domain_id'], [[...unique.values()]]);
}

/** A login prefix for a new school domain: `<root>-<org>`, made safe, short and unique. */
async function freeUserspace(ctx: ApplyContext, sid: string): Promise<string> {
  const slug = sid.toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[-._]+|[-._]+$/g, '') || 'org';
  const stem = `${ctx.root.userspace}-${slug}`.slice(0, 56);
  for (let n = 1; ; n++) {
    const candidate = n === 1 ? stem : `${stem}-${n}`;
    const taken = await ctx.db.query('SELECT 1 AS x FROM domain WHERE userspace = $1', [candidate]);
    if (!taken.length) return candidate;
  }
}
