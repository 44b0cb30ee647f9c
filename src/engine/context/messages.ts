// Messages: the included context items grouped by role, and the one documented way they serialize into `content`
// (so the record's content_hash commits to exactly what the model is sent).
import type { ContextItem, ContextMessage, MessageRole } from "../../define/types.js";
import { FabraError } from "../../errors.js";

export const MESSAGE_ROLES: readonly MessageRole[] = ["system", "user", "assistant", "tool"];

/** The role an item without one takes: the role before it, or `system` for the first. */
const DEFAULT_ROLE: MessageRole = "system";

/** True when any item carries a role: then `content` is the serialized messages, else the joined text as before. */
export function hasRoles(items: readonly Pick<ContextItem, "role">[]): boolean {
  return items.some((item) => item.role !== undefined);
}

/** Included items in order; consecutive items of one role are joined (by `separator`) into one message. */
export function groupMessages(items: readonly ContextItem[], separator: string): ContextMessage[] {
  const messages: ContextMessage[] = [];
  let role: MessageRole = DEFAULT_ROLE;
  for (const item of items) {
    role = item.role ?? role;
    const last = messages[messages.length - 1];
    if (last && last.role === role) last.content = `${last.content}${separator}${item.content}`;
    else messages.push({ role, content: item.content });
  }
  return messages;
}

/**
 * The messages as the record's `content`: JSON text of `[{"role":…,"content":…},…]`, keys in that order, no
 * whitespace, strings escaped as JSON.stringify does (Python: `json.dumps(m, separators=(",", ":"),
 * ensure_ascii=False)` over dicts built role first). Deterministic, so content_hash commits to the messages.
 */
export function serializeMessages(messages: readonly ContextMessage[]): string {
  return JSON.stringify(messages.map((m) => ({ role: m.role, content: m.content })));
}

/** The messages a record's content holds: parsed back when it is serialized messages, else one system message. */
export function messagesOfContent(content: string): ContextMessage[] {
  if (content.startsWith('[{"role":')) {
    try {
      const parsed: unknown = JSON.parse(content);
      const messages = checkMessages(parsed, "content");
      if (serializeMessages(messages) === content) return messages;
    } catch {
      // not serialized messages after all: plain text
    }
  }
  return content === "" ? [] : [{ role: DEFAULT_ROLE, content }];
}

/** Checks messages given by a caller (a receipt, an HTTP body); `where` names them in the error. */
export function checkMessages(value: unknown, where: string): ContextMessage[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw new FabraError("INVALID_ARGUMENT", `${where} is not a non-empty array of messages`, {
      hint: 'Pass messages like [{ role: "system", content: "..." }, { role: "user", content: "..." }].',
    });
  }
  return value.map((m: unknown, i) => {
    const message = m as Partial<ContextMessage> | null;
    if (typeof message !== "object" || message === null || typeof message.content !== "string") {
      throw new FabraError("INVALID_ARGUMENT", `${where}[${i}] has no string \`content\``, {
        hint: "Each message is { role, content } with content a string.",
      });
    }
    checkRole(message.role, `${where}[${i}]`);
    return { role: message.role as MessageRole, content: message.content };
  });
}

/** Throws unless `role` is one of the four message roles. */
export function checkRole(role: unknown, where: string): void {
  if (!MESSAGE_ROLES.includes(role as MessageRole)) {
    throw new FabraError("INVALID_ARGUMENT", `${where} has role ${JSON.stringify(role) ?? String(role)}`, {
      hint: `role is one of ${MESSAGE_ROLES.join(", ")}.`,
    });
  }
}
