// Sample customer data standing in for your database.
export interface Customer {
  tier: "free" | "pro" | "enterprise";
  openTickets: number;
  monthlySpend: number;
  signupDate: string;
}

export const customers: Record<string, Customer> = {
  u_1: { tier: "enterprise", openTickets: 2, monthlySpend: 1250.5, signupDate: "2023-04-11" },
  u_2: { tier: "pro", openTickets: 0, monthlySpend: 49.0, signupDate: "2024-09-30" },
  u_3: { tier: "free", openTickets: 5, monthlySpend: 0, signupDate: "2025-12-01" },
};
