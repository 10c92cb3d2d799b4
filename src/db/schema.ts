import type { ColumnType, Generated } from "kysely";
import type { KeyScope, Role } from "../domain/access.js";
import type { Interval, TierOverrides } from "../domain/catalog.js";
import type { EmailFacts, EmailKind, EmailStatus } from "../domain/emails.js";
import type { EntryType } from "../domain/ledger.js";
import type { StripeSubscriptionStatus } from "../domain/subscriptions.js";
import type { Metric } from "../domain/usageEvents.js";

/** Timestamps are written as Date (or left to the column default) and read as Date. */
type CreatedAt = ColumnType<Date, Date | undefined, never>;

export interface UsersTable {
  id: string;
  email: string;
  name: string;
  password_hash: string;
  created_at: CreatedAt;
}

export interface SessionsTable {
  id: string;
  user_id: string;
  csrf_token: string;
  created_at: CreatedAt;
  expires_at: Date;
}

export interface DeviceCookiesTable {
  id: string;
  user_id: string;
  created_at: CreatedAt;
  expires_at: Date;
}

export interface OrgsTable {
  id: string;
  name: string;
  billing_email: string;
  country: string | null;
  created_at: CreatedAt;
  trial_ends_at: Date;
  cycle_anchor_day: ColumnType<number, number | undefined, number>;
  /** UTC days, `YYYY-MM-DD`; null together (domain/cycles.ts, CycleSchedule). */
  cycle_bridge_start: ColumnType<string | null, string | null | undefined, string | null>;
  cycle_bridge_end: ColumnType<string | null, string | null | undefined, string | null>;
  cycle_before_bridge: ColumnType<string | null, string | null | undefined, string | null>;
  credit_tiers: ColumnType<TierOverrides | null, string | null | undefined, string | null>;
  created_by: string | null;
  billing_email_confirmed_at: Date | null;
}

export interface OrgMembersTable {
  org_id: string;
  user_id: string;
  role: Role;
  created_at: CreatedAt;
}

export interface ApiKeysTable {
  id: string;
  org_id: string | null;
  name: string;
  scopes: KeyScope[];
  key_hash: string;
  key_prefix: string;
  created_by: string | null;
  created_at: CreatedAt;
  revoked_at: Date | null;
}

export interface UsageEventsTable {
  org_id: string;
  id: string;
  app_id: string;
  metric: Metric;
  occurred_at: Date;
  device_id: string | null;
  value: bigint | null;
  payload_hash: string;
  received_at: CreatedAt;
}

export interface StripeCustomersTable {
  org_id: string;
  customer_id: string;
  created_at: CreatedAt;
  /** Bumped by each sync from Stripe that changes what is stored (subscriptions/syncOrgSubscription.ts). */
  synced_version: ColumnType<bigint, never, bigint>;
}

export interface SubscriptionsTable {
  org_id: string;
  id: string;
  stripe_subscription_id: string;
  plan: string;
  interval: Interval;
  status: StripeSubscriptionStatus;
  current_period_start: Date;
  current_period_end: Date;
  anchor_day: number;
  cancel_at_period_end: boolean;
  past_due_since: Date | null;
  created_at: CreatedAt;
  updated_at: Date;
}

export interface CheckoutSessionsTable {
  org_id: string;
  session_id: string;
  mode: "subscription" | "payment";
  plan: string | null;
  interval: Interval | null;
  status: "open" | "complete" | "expired";
  created_by: string | null;
  created_at: CreatedAt;
}

export interface StripePricesTable {
  plan: string;
  interval: Interval;
  product_id: string;
  price_id: string;
  unit_amount_cents: bigint;
  currency: string;
  synced_at: Date;
}

export interface StripeEventsTable {
  event_id: string;
  type: string;
  org_id: string | null;
  created_at: Date;
  processed_at: CreatedAt;
}

export interface ContactRequestsTable {
  org_id: string;
  id: string;
  user_id: string;
  message: string;
  created_at: CreatedAt;
}

export interface BillingEmailConfirmationsTable {
  org_id: string;
  token_hash: string;
  email: string;
  created_at: Date;
  expires_at: Date;
  used_at: ColumnType<Date | null, Date | null | undefined, Date>;
}

export interface CreditPaymentMismatchesTable {
  org_id: string;
  session_id: string;
  payment_intent_id: string | null;
  asked_subtotal_cents: bigint | null;
  asked_currency: string;
  paid_quantity: bigint | null;
  paid_unit_amount_cents: bigint | null;
  paid_subtotal_cents: bigint | null;
  paid_total_cents: bigint | null;
  paid_currency: string | null;
  problem: string;
  created_at: Date;
}

export interface EmailsTable {
  org_id: string;
  id: string;
  kind: EmailKind;
  dedupe_key: string;
  facts: ColumnType<EmailFacts, string, never>;
  recipients: string[];
  status: EmailStatus;
  attempts: ColumnType<number, number | undefined, number>;
  next_attempt_at: Date;
  claimed_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  sent_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  transport: ColumnType<string | null, string | null | undefined, string | null>;
  last_error: ColumnType<string | null, string | null | undefined, string | null>;
  created_at: Date;
}

export interface EmailOptOutsTable {
  org_id: string;
  user_id: string;
  kind: EmailKind;
}

export interface UsageDailyTable {
  org_id: string;
  metric: "bandwidth" | "build_minutes";
  day: string;
  /** numeric, read as its decimal text */
  quantity: string;
}

export interface MauDevicesTable {
  org_id: string;
  cycle_start: string;
  device_id: string;
  first_seen: string;
}

export interface MauCountsTable {
  org_id: string;
  cycle_start: string;
  devices: bigint;
}

export interface StorageGaugesTable {
  org_id: string;
  app_id: string;
  bytes: bigint;
  measured_at: Date;
}

export interface CreditAccountsTable {
  org_id: string;
  balance: bigint;
  updated_at: Date;
}

export interface CreditGrantsTable {
  org_id: string;
  id: string;
  source: "purchase" | "grant";
  amount: bigint;
  remaining: bigint;
  expires_at: Date;
  note: string | null;
  payment_intent_id: string | null;
  created_at: Date;
}

export interface CreditEntriesTable {
  org_id: string;
  id: string;
  type: EntryType;
  amount: bigint;
  balance_after: bigint;
  grant_id: string | null;
  metric: Metric | null;
  /** numeric, read as its decimal text */
  quantity: string | null;
  description: string;
  idempotency_key: string;
  occurred_at: Date;
}

export interface OverageChargesTable {
  org_id: string;
  metric: Metric;
  cycle_start: string;
  charged: bigint;
}

export interface SchemaMigrationsTable {
  version: number;
  name: string;
  checksum: string;
  applied_at: Generated<Date>;
}

export interface Schema {
  users: UsersTable;
  sessions: SessionsTable;
  device_cookies: DeviceCookiesTable;
  orgs: OrgsTable;
  org_members: OrgMembersTable;
  api_keys: ApiKeysTable;
  usage_events: UsageEventsTable;
  stripe_customers: StripeCustomersTable;
  subscriptions: SubscriptionsTable;
  checkout_sessions: CheckoutSessionsTable;
  stripe_prices: StripePricesTable;
  stripe_events: StripeEventsTable;
  contact_requests: ContactRequestsTable;
  billing_email_confirmations: BillingEmailConfirmationsTable;
  credit_payment_mismatches: CreditPaymentMismatchesTable;
  usage_daily: UsageDailyTable;
  mau_devices: MauDevicesTable;
  mau_counts: MauCountsTable;
  storage_gauges: StorageGaugesTable;
  credit_accounts: CreditAccountsTable;
  credit_grants: CreditGrantsTable;
  credit_entries: CreditEntriesTable;
  overage_charges: OverageChargesTable;
  emails: EmailsTable;
  email_opt_outs: EmailOptOutsTable;
  schema_migrations: SchemaMigrationsTable;
}
