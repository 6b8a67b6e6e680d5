import { describeGrantStoreConformance } from '@tokenvault/store-conformance';
import { encryptedPostgresHarness, encryptedSqliteHarness } from './support/encrypted-harness';
import { describePostgres } from './support/postgres-harness';

// The whole contract again with AES-256-GCM on every secret column; the oracle checks each is encrypted.
describeGrantStoreConformance('sqlite (file, encrypted)', () => encryptedSqliteHarness(), { modelRuns: 50 });
describePostgres('postgres conformance (encrypted)', () => {
  describeGrantStoreConformance('postgres (encrypted)', () => encryptedPostgresHarness(), { modelRuns: 15 });
});
