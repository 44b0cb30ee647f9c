// require("fabra/record"): fabra is an ES module package. Node versions that can require() an ES module get it as it is;
// older ones get a clear message instead of ERR_PACKAGE_PATH_NOT_EXPORTED or ERR_REQUIRE_ESM.
"use strict";
try {
  module.exports = require("../dist/record/index.js");
} catch (err) {
  if (!err || (err.code !== "ERR_REQUIRE_ESM" && err.code !== "ERR_REQUIRE_ASYNC_MODULE")) throw err;
  const error = new Error(
    'fabra/record is an ES module package and this Node.js cannot require() it. Use import: `import { ... } from "fabra/record"`, or from CommonJS `const fabra = await import("fabra/record")` (or run Node.js 20.19+ / 22.12+, which can require() ES modules).',
  );
  error.code = "FABRA_REQUIRE_ESM";
  error.cause = err;
  throw error;
}
