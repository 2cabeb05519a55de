// `npm run test:soak`: the robustness suites in their long mode, for release checks (minutes, not
// seconds): 5000 fuzz cases per format, 60 SIGKILLs, 50 epochs of 784-128-10 on all of MNIST.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/fuzz.test.ts', 'test/crash.test.ts', 'test/memory.test.ts', 'test/repro.test.ts', 'test/trap.test.ts'],
    env: { SOAK: '1' },
    testTimeout: 3_600_000,
    hookTimeout: 600_000,
    // One file at a time: the memory suite's RSS readings stay its own.
    fileParallelism: false,
  },
});
