// Features: one value per user, computed by a function, cached online and kept in history.
import { entity, feature } from "fabra";
import { customers } from "./data/customers.ts";

export const user = entity("user");

export const userTier = feature(
  { entity: user, refresh: "1h", ttl: "2h", materialize: true, entities: Object.keys(customers), default: "free" },
  (userId: string) => customers[userId]?.tier ?? "free",
);

export const openTickets = feature(
  { entity: user, refresh: "5m", ttl: "10m", materialize: true, entities: Object.keys(customers) },
  async (userId: string) => customers[userId]?.openTickets ?? 0,
);

// Computed on read and cached for a day (no refresh: a schedule needs materialize: true and entities).
export const monthlySpend = feature(
  { entity: user, ttl: "1d" },
  (userId: string) => customers[userId]?.monthlySpend ?? 0,
);
