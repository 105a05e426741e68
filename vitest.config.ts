import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Two test files at a time on a 2-core machine (vitest's default is one fewer than the cores: one file at a
    // time). The files spend most of their time waiting on sockets and child processes, and are written to pass
    // on a busy machine; one at a time took the suite past 8 minutes.
    maxWorkers: 2,
    // The hostile-upload suite forces collections to check that replaying it leaves no growth behind.
    execArgv: ['--expose-gc'],
  },
});
