// The little of better-sqlite3 that bench/search.ts and the SQLite migration runner
// (lib/db/sqlite-migrate.ts) use directly (the app's queries go through Prisma's adapter);
// the package ships no types.
declare module "better-sqlite3" {
  interface Statement {
    run(...params: unknown[]): unknown;
    get(...params: unknown[]): unknown;
    all(...params: unknown[]): unknown[];
  }
  interface Transaction<T> {
    (): T;
    /** BEGIN IMMEDIATE: takes the write lock at once. */
    immediate(): T;
  }
  export default class Database {
    constructor(filename: string, options?: { readonly?: boolean; timeout?: number });
    exec(sql: string): this;
    prepare(sql: string): Statement;
    pragma(source: string): unknown;
    transaction<T>(fn: () => T): Transaction<T>;
    close(): void;
  }
}
