// The response headers of a pack download, one set for GET /v1/contexts/:id/pack and the viewer's download link.
/** A zip saved as `<id>.zip` (the id reduced to characters safe in a quoted file name), never sniffed as anything else. */
export function packDownloadHeaders(id: string): Record<string, string> {
  return {
    "content-type": "application/zip",
    "content-disposition": `attachment; filename="${id.replace(/[^A-Za-z0-9_.-]/g, "_")}.zip"`,
    "x-content-type-options": "nosniff",
  };
}
