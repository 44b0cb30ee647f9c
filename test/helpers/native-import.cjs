// Node's own dynamic import, out of reach of vitest's module runner: cli-in-process.ts requires this file with
// createRequire, so node (not vitest) loads it, and `import()` here is node's.
module.exports = (url) => import(url);
