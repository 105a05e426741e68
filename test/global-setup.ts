import { execFileSync } from 'node:child_process';

/** Piscina workers and spawned servers run the compiled output, so build it once before any test. */
export default function setup(): void {
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
}
