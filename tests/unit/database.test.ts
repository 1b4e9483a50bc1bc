import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { readMigrations } from "@/lib/db/pg-migrate";
import { databaseProvider, redactDatabaseUrl } from "@/lib/db/url";
import { derivePostgresSchema, postgresSchemaProblem, SQLITE_SCHEMA } from "../../scripts/pg-schema";

describe("the PostgreSQL schema", () => {
  it("is prisma/schema.prisma with the provider and client output changed, and committed up to date", () => {
    // Fails after an edit of prisma/schema.prisma until `npm run db:pg-schema` has been run.
    expect(postgresSchemaProblem()).toBeNull();
    const sqlite = fs.readFileSync(SQLITE_SCHEMA, "utf8");
    const pg = derivePostgresSchema(sqlite);
    expect(pg).toContain('provider = "postgresql"');
    expect(pg).toContain('output          = "../../node_modules/.prisma/client-pg"');
    const models = (s: string) => s.slice(s.indexOf("model "));
    expect(models(pg)).toBe(models(sqlite));
  });

  it("refuses a schema it does not know how to derive", () => {
    expect(() => derivePostgresSchema('datasource db {\n  provider = "mysql"\n}')).toThrow(/sqlite/);
  });

  it("has PostgreSQL migrations in timestamp order, one folder each", () => {
    const migrations = readMigrations();
    expect(migrations.length).toBeGreaterThan(0);
    for (const m of migrations) expect(m.name).toMatch(/^\d{14}_[a-z0-9_]+$/);
    // The Prisma CLI's chatter never ends up in a migration.
    for (const m of migrations) expect(m.sql).not.toMatch(/Loaded Prisma config|CREATE SCHEMA/);
    expect(fs.existsSync(path.join(path.dirname(SQLITE_SCHEMA), "postgresql", "migrations", migrations[0]!.name, "migration.sql"))).toBe(true);
  });
});

describe("DATABASE_URL", () => {
  it("names the provider", () => {
    expect(databaseProvider("file:/data/app.db")).toBe("sqlite");
    expect(databaseProvider("postgresql://u:p@h/db")).toBe("postgresql");
    expect(databaseProvider("postgres://h/db")).toBe("postgresql");
    expect(() => databaseProvider("mysql://h/db")).toThrow(/file:.*postgresql:/);
  });

  it("is logged without its password", () => {
    expect(redactDatabaseUrl("postgresql://app:s3cret@db.example:5432/chat")).toBe("postgresql://app:***@db.example:5432/chat");
    expect(redactDatabaseUrl("postgresql://app@db/chat?password=s3cret&sslmode=require")).not.toContain("s3cret");
    expect(redactDatabaseUrl("file:/data/app.db")).toBe("file:/data/app.db");
  });
});
