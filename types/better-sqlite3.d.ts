// The little of better-sqlite3 that bench/search.ts uses directly (the app
// reaches SQLite only through Prisma's adapter); the package ships no types.
declare module "better-sqlite3" {
  interface Statement {
    run(...params: unknown[]): unknown;
    all(...params: unknown[]): unknown[];
  }
  export default class Database {
    constructor(filename: string);
    exec(sql: string): this;
    prepare(sql: string): Statement;
    close(): void;
  }
}
