import { describeGrantStoreConformance } from '@tokenvault/store-conformance';
import { describePostgres, postgresHarness } from './support/postgres-harness';

describePostgres('postgres conformance', () => {
  describeGrantStoreConformance('postgres', () => postgresHarness(), { modelRuns: 25 });
});
