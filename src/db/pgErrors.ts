/** SQLSTATE codes we act on; both engines report them the same way. */
export function isUniqueViolation(error: unknown): boolean {
  return sqlState(error) === "23505";
}

/** A deadlock or a serialization failure: PostgreSQL undid the transaction, which may run again. */
export function isTransientConflict(error: unknown): boolean {
  const state = sqlState(error);
  return state === "40P01" || state === "40001";
}

/** A row naming something that does not exist (an unknown organization). */
export function isForeignKeyViolation(error: unknown): boolean {
  return sqlState(error) === "23503";
}

/** Text the database cannot store (a NUL byte, an invalid encoding): the caller's input is at fault. */
export function isUnstorableText(error: unknown): boolean {
  const state = sqlState(error);
  return state === "22021" || state === "22P05";
}

function sqlState(error: unknown): string | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === "string" ? code : undefined;
}
