import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // The hostile-upload suite forces collections to check that replaying it leaves no growth behind.
    execArgv: ['--expose-gc'],
  },
});
