import type { Db, Tx } from "../db";
import { isSerializationFailure } from "../db";
import { ConflictError } from "../errors";

const ATTEMPTS = 3;

/**
 * Runs a check-then-change (e.g. "not the last super_admin", "no devices left on this plan") serializably, so
 * two concurrent requests cannot both pass the check; retries the few times PostgreSQL aborts a loser.
 */
export async function serializable<T>(db: Db, work: (tx: Tx) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.$transaction(work, { isolationLevel: "Serializable" });
    } catch (error) {
      if (!isSerializationFailure(error)) throw error;
      if (attempt >= ATTEMPTS) {
        throw new ConflictError("A concurrent change got in the way; please retry");
      }
    }
  }
}
