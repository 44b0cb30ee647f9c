// Context functions: return prioritized items; fabra fits them to the token budget and records everything.
import { context } from "fabra";
import { monthlySpend, openTickets, userTier } from "./features.ts";
import { searchDocs } from "./retrievers.ts";

export const supportContext = context(
  { maxTokens: 300, freshnessSla: "1h", model: "gpt-4o-mini", inputs: { userId: "string", query: "string" } },
  async ({ userId, query }: { userId: string; query: string }) => {
    const [tier, tickets, spend] = await Promise.all([
      userTier.get(userId),
      openTickets.get(userId),
      monthlySpend.get(userId),
    ]);
    const docs = await searchDocs(query);
    return [
      {
        content:
          "You are Acme Cloud's support assistant. Answer from the documentation below; say so when it does not cover the question.",
        priority: 0,
        required: true,
      },
      {
        content: `Customer ${userId}: ${tier} tier, ${tickets} open tickets, $${spend}/month.`,
        priority: 1,
        required: true,
      },
      ...docs.map((doc, i) => ({ content: doc.content, priority: 2 + i, source: doc })),
      // Content is joined in priority order; a required item is never dropped, so the question goes last.
      { content: `Question: ${query}`, priority: 99, required: true },
    ];
  },
);
