/**
 * FTPS logins against the LMS database, on both databases: only active Administrators with the
 * right password get in, and they reach their domain and every domain below it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createDomain } from '../../src/db/domains';
import { User } from '../../src/db/entities';
import { createUser } from '../../src/db/users';
import { LmsAuthenticator } from '../../src/ftps/lms-authenticator';
import { databaseKinds, openTestDatabase, type TestDatabase } from '../helpers/db';

describe('LMS authenticator', { concurrency: true }, () => {
  for (const kind of databaseKinds()) {
    describe(kind, () => {
      let db: TestDatabase;
      let auth: LmsAuthenticator;
      before(async () => {
        db = await openTestDatabase(kind);
        const district = await createDomain(db.ds, { userspace: 'district', name: 'District' });
        const school = await createDomain(db.ds, { userspace: 'school', name: 'School', parentId: district.id });
        await createDomain(db.ds, { userspace: 'annex', name: 'Annex', parentId: school.id });
        await createDomain(db.ds, { userspace: 'other', name: 'Other' });
        await createUser(db.ds, { domainId: district.id, username: 'admin', admin: true, password: 'district-pass' });
        await createUser(db.ds, { domainId: district.id, username: 'teacher', password: 'teacher-pass' });
        await createUser(db.ds, { domainId: district.id, username: 'nopass', admin: true });
        const gone = await createUser(db.ds, { domainId: district.id, username: 'gone', admin: true, password: 'gone-pass1' });
        await db.ds.getRepository(User).update({ id: gone.id }, { status: 'inactive' });
        await createUser(db.ds, { domainId: school.id, username: 'admin', admin: true, password: 'school-pass' });
        auth = new LmsAuthenticator(db.ds);
      });
      after(async () => { await db?.close(); });

      it('an administrator gets their domain and all domains below it', async () => {
        const grant = await auth.authenticate('district/admin', 'district-pass');
        assert.ok(grant);
        assert.equal(grant.home, 'district');
        assert.deepEqual(grant.subdomains, ['annex', 'school']);
        assert.equal(grant.login, 'district/admin');
        const school = await auth.authenticate('School/admin', 'school-pass');
        assert.deepEqual(school && { home: school.home, subdomains: school.subdomains }, { home: 'school', subdomains: ['annex'] });
      });

      it('refuses wrong passwords, unknown users and domains, non-administrators, inactive users and users without a password', async () => {
        const refused = [
          ['district/admin', 'wrong-pass'], ['district/admin', ''], ['district/nobody', 'district-pass'], ['nowhere/admin', 'district-pass'],
          ['district/teacher', 'teacher-pass'], ['district/gone', 'gone-pass1'], ['district/nopass', ''], ['admin', 'district-pass'],
          ['school/admin', 'district-pass'], ['other/admin', 'district-pass'],
        ];
        for (const [login, password] of refused) assert.equal(await auth.authenticate(login, password), null, login);
      });
    });
  }
});
