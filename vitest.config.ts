import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Training tests are CPU-heavy; CI has 2 cores.
    fileParallelism: true,
    maxWorkers: 2,
  },
});
