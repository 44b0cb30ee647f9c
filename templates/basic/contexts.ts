// Context functions: return prioritized items; fabra fits them to the token budget and records everything.
import { context } from "fabra";
import { openTickets, userTier } from "./features.ts";

export const greetingContext = context(
  { maxTokens: 200, freshnessSla: "1h", model: "gpt-4o-mini", inputs: { userId: "string", message: "string" } },
  async ({ userId, message }: { userId: string; message: string }) => {
    const [tier, tickets] = await Promise.all([userTier.get(userId), openTickets.get(userId)]);
    return [
      { content: "You are Acme Cloud's assistant. Be brief and friendly.", priority: 0, required: true },
      { content: `The customer is on the ${tier} tier.`, priority: 1 },
      {
        content:
          tickets > 0
            ? `They have ${tickets} open support tickets; offer to help with them.`
            : "They have no open tickets.",
        priority: 2,
      },
      // Content is joined in priority order; a required item is never dropped, so the message goes last.
      { content: `Message: ${message}`, priority: 99, required: true },
    ];
  },
);
