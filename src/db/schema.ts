import type { ColumnType, Generated } from "kysely";
import type { KeyScope, Role } from "../domain/access.js";
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

export interface OrgsTable {
  id: string;
  name: string;
  billing_email: string;
  country: string | null;
  created_at: CreatedAt;
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

export interface SchemaMigrationsTable {
  version: number;
  name: string;
  checksum: string;
  applied_at: Generated<Date>;
}

export interface Schema {
  users: UsersTable;
  sessions: SessionsTable;
  orgs: OrgsTable;
  org_members: OrgMembersTable;
  api_keys: ApiKeysTable;
  usage_events: UsageEventsTable;
  schema_migrations: SchemaMigrationsTable;
}
