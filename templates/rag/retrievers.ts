// Retrievers: with no body, fabra embeds the query and searches the named index.
import { retriever } from "fabra";

export const searchDocs = retriever({ index: "support_docs", topK: 3 });
