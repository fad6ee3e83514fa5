// Typed errors of the database layer, so callers (the console's start-up, tests) can tell an operator's
// mistake (wrong URL, busy port, foreign data folder) from a bug, and print a message that says what to do.

export type DatabaseErrorCode =
  | "invalid_config"
  | "unreachable"
  | "migration_changed"
  | "migration_failed"
  | "data_dir_owner"
  | "data_dir_in_use"
  | "port_in_use"
  | "embedded_failed";

export class DatabaseError extends Error {
  readonly code: DatabaseErrorCode;

  constructor(code: DatabaseErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

export class InvalidDatabaseConfigError extends DatabaseError {
  constructor(message: string) {
    super("invalid_config", message);
  }
}

export class DatabaseUnreachableError extends DatabaseError {
  constructor(url: string, cause: unknown) {
    super(
      "unreachable",
      `cannot connect to PostgreSQL at ${redactDatabaseUrl(url)}: ${describe(cause)}. ` +
        "Check DATABASE_URL (host, port, user, password, database) and that the server is running.",
      { cause },
    );
  }
}

export class MigrationChecksumError extends DatabaseError {
  constructor(
    readonly migration: string,
    readonly expected: string,
    readonly actual: string,
  ) {
    super(
      "migration_changed",
      `migration ${migration} was already applied to this database but its file has changed since ` +
        `(applied sha256 ${expected}, file sha256 ${actual}). Applied migrations must never be edited: ` +
        "restore the file and put the change in a new migration.",
    );
  }
}

export class MigrationFailedError extends DatabaseError {
  constructor(
    readonly migration: string,
    cause: unknown,
  ) {
    super("migration_failed", `migration ${migration} failed and was rolled back: ${describe(cause)}`, {
      cause,
    });
  }
}

export class DataDirOwnerError extends DatabaseError {
  constructor(dataDir: string, owner: number, expected: string) {
    super(
      "data_dir_owner",
      `the PostgreSQL data folder ${dataDir} belongs to uid ${owner}, but the server must run as ${expected}. ` +
        `Fix it with: chown -R ${expected} ${dataDir}  (or set KERNFLOW_HOME to another folder).`,
    );
  }
}

export class DataDirInUseError extends DatabaseError {
  constructor(dataDir: string, detail: string) {
    super(
      "data_dir_in_use",
      `another PostgreSQL server is already running on the data folder ${dataDir} (${detail}). ` +
        "Stop the other console process, or point this one at another KERNFLOW_HOME.",
    );
  }
}

export class PortInUseError extends DatabaseError {
  constructor(port: number) {
    super(
      "port_in_use",
      `port ${port} on 127.0.0.1 is already in use: choose another port for the embedded PostgreSQL`,
    );
  }
}

export class EmbeddedPostgresError extends DatabaseError {
  constructor(message: string, cause?: unknown) {
    super("embedded_failed", message, { cause });
  }
}

/** The URL without its password, fit for logs and error messages. */
export function redactDatabaseUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "<unparseable URL>";
  }
}

export function describe(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) {
    return error.errors.map(describe).join("; ");
  }
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}
