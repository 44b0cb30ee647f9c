// The pack download's headers, shared by the API route and the viewer.
import { describe, expect, it } from "vitest";
import { packDownloadHeaders } from "../../src/api/pack-download.js";

describe("packDownloadHeaders", () => {
  it("names the zip after the record, with only file-name-safe characters inside the quotes", () => {
    expect(packDownloadHeaders("ctx_0190a1b2-0000-7000-8000-00000000beef")).toEqual({
      "content-type": "application/zip",
      "content-disposition": 'attachment; filename="ctx_0190a1b2-0000-7000-8000-00000000beef.zip"',
      "x-content-type-options": "nosniff",
    });
    expect(packDownloadHeaders('a"b\r\nc/d\\é')["content-disposition"]).toBe('attachment; filename="a_b__c_d__.zip"');
  });
});
