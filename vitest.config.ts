import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', '{shared,hook,daemon,knowledge,cli,eval}/**/*.test.ts'],
    // End-to-end tests spawn real git, daemons and analyzers; two cores only.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
  },
});
