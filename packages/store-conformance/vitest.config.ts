import { sharedTestConfig } from '../../vitest.shared.ts';

// A plain object rather than `defineConfig(...)`: this package's own `vitest` devDependency resolves to
// a second vite instance (esbuild 0.28 peer) whose types do not match the root `vite` that
// vitest.shared.ts imports, and `defineConfig` would fail the typecheck on that mismatch alone.
export default sharedTestConfig(import.meta.url);
