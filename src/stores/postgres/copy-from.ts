// COPY ... FROM STDIN on a pg client without pg-copy-streams: a pg Query whose answer to the server's CopyInResponse
// is the data (CopyData) then CopyDone, through the connection methods pg itself has for COPY. It runs as a simple
// query (no bound parameters, so the statement text must hold no user input) and settles like any query: with the
// server's row count, or with its error (a COPY is one statement: on an error nothing of it is written; CopyData
// the server receives after its error is dropped, as the protocol says). pg's query timeout applies as for queries.
import pg from "pg";

/** The part of pg's Connection a COPY FROM STDIN uses (present in pg 8, missing from its type declarations). */
interface CopyInConnection {
  sendCopyFromChunk(chunk: Buffer): void;
  endCopyFrom(): void;
}

class CopyFromQuery extends pg.Query {
  constructor(
    text: string,
    private readonly data: Buffer,
    callback: (err: Error | undefined, result: pg.ResultBuilder) => void,
  ) {
    super(text, callback);
  }

  // Called by pg's client when the server is ready for the rows.
  handleCopyInResponse(connection: CopyInConnection): void {
    if (this.data.length > 0) connection.sendCopyFromChunk(this.data);
    connection.endCopyFrom();
  }
}

/** Sends `data` (in the format `sql` names, e.g. text COPY lines) to `COPY ... FROM STDIN`; the rows copied. */
export function copyFrom(client: pg.ClientBase, sql: string, data: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    client.query(
      new CopyFromQuery(sql, data, (err, result) => (err ? reject(err) : resolve(Number(result?.rowCount ?? 0)))),
    );
  });
}
