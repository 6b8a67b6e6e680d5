import { describeGrantStoreConformance } from '@tokenvault/store-conformance';
import { sqliteFileHarness, sqliteMemoryHarness } from './support/sqlite-harness';

describeGrantStoreConformance('sqlite (file)', () => sqliteFileHarness(), { modelRuns: 100 });
describeGrantStoreConformance('sqlite (:memory:)', () => sqliteMemoryHarness(), { modelRuns: 100 });
