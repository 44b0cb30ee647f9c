// The types of require("fabra/record"): those of the ES module entry it hands back.
export * from "../dist/record/index.js";
