// Tests run from TypeScript sources (swc transform, no type-check: `pnpm typecheck` does that).
// Workspace imports (@tt/*) are mapped to their sources so a test never sees a stale build.
const fs = require('fs');
const path = require('path');

const moduleNameMapper = {};
for (const dir of ['packages', 'services']) {
  for (const name of fs.readdirSync(path.join(__dirname, dir))) {
    const pkgFile = path.join(__dirname, dir, name, 'package.json');
    if (!fs.existsSync(pkgFile)) continue;
    const pkg = JSON.parse(fs.readFileSync(pkgFile, 'utf8'));
    moduleNameMapper[`^${pkg.name.replace('/', '\\/')}$`] = `<rootDir>/${dir}/${name}/src/index.ts`;
  }
}

const transform = { '^.+\\.(t|j)s$': ['@swc/jest', { jsc: { target: 'es2022' } }] };
const common = { transform, moduleNameMapper, testEnvironment: 'node' };

module.exports = {
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/packages/**/src/**/*.test.ts', '<rootDir>/services/**/src/**/*.test.ts'] },
    { ...common, displayName: 'e2e', testMatch: ['<rootDir>/tests/e2e/**/*.test.ts'] },
    { ...common, displayName: 'deploy', testMatch: ['<rootDir>/tests/deploy/**/*.test.ts'] },
    { ...common, displayName: 'bench', testMatch: ['<rootDir>/tests/bench/**/*.test.ts'] },
    { ...common, displayName: 'fuzz', testMatch: ['<rootDir>/tests/fuzz/**/*.test.ts'] },
  ],
};
