import { defineConfig } from 'tsup';

// One CommonJS file per command with every dependency inlined: a start-up
// then costs one file read on top of Node itself.
export default defineConfig({
  entry: { pipenv: 'lib/cli/pipenv.ts', 'pipenv-fhs': 'lib/cli/pipenv-fhs.ts' },
  format: ['cjs'],
  target: 'node20',
  platform: 'node',
  noExternal: [/.*/],
  splitting: false,
  // Not cleaned: a rebuild must never leave a moment without dist/pipenv.js for a running shim.
  clean: false,
  minify: false,
});
