// The types of require("fabra"): those of the ES module entry it hands back.
export * from "../dist/index.js";
