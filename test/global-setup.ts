// Compiles lib/ to dist/ once per test run, so worker threads can import the real package
// entry (`mha-native` -> dist/index.js) rather than TypeScript sources. A compile error is
// handed to the tests (test/workers.test.ts fails with it) instead of aborting every file.
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext { distBuildError: string }
}

export default function compileDist(project: TestProject): void {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  try {
    execFileSync(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: root, stdio: 'pipe' });
    project.provide('distBuildError', '');
  } catch (e) {
    const err = e as { stdout?: Buffer; stderr?: Buffer; message: string };
    project.provide('distBuildError', `tsc -p tsconfig.json failed:\n${err.stdout ?? ''}${err.stderr ?? ''}` || err.message);
  }
}
