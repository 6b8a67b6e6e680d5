import { defineConfig } from 'vitest/config';
import { sharedTestConfig } from '../../vitest.shared.ts';

const shared = sharedTestConfig(import.meta.url);

// One test file at a time: these files start OS processes and hammer one PostgreSQL server, and
// running them side by side on two cores only made them slower and flakier.
export default defineConfig({ ...shared, test: { ...shared.test, fileParallelism: false } });
