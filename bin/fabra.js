#!/usr/bin/env node
// Thin shim: the CLI lives in dist/cli/main.js (built by `npm run build`).
import { main } from "../dist/cli/main.js";

main(process.argv);
