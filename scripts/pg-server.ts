// A private, throwaway PostgreSQL server (initdb into a temporary folder,
// listening only on a Unix socket in that folder, stopped and deleted
// afterwards): the PostgreSQL pass of the integration tests and
// `npm run db:diff:pg` use one, so neither needs a configured database.
// Running as root, the server runs as the `postgres` user (initdb refuses root).
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

export const POSTGRES_MISSING =
  "PostgreSQL not installed (no initdb/pg_ctl in PG_BIN, PATH or /usr/lib/postgresql/*/bin; Debian/Ubuntu: apt-get install postgresql)";

/** The folder with initdb, pg_ctl and postgres, or null. PG_BIN overrides. */
export function findPostgresBin(): string | null {
  const has = (dir: string) => ["initdb", "pg_ctl", "postgres"].every((b) => fs.existsSync(path.join(dir, b)));
  if (process.env.PG_BIN) return has(process.env.PG_BIN) ? process.env.PG_BIN : null;
  const onPath = (process.env.PATH ?? "").split(path.delimiter).find((d) => d && has(d));
  if (onPath) return onPath;
  const debian = "/usr/lib/postgresql";
  if (fs.existsSync(debian)) {
    const versions = fs.readdirSync(debian).filter((v) => has(path.join(debian, v, "bin"))).sort((a, b) => Number(b) - Number(a));
    if (versions[0]) return path.join(debian, versions[0], "bin");
  }
  return null;
}

export interface ThrowawayPostgres {
  /** A superuser URL (database `postgres`) over the Unix socket. */
  adminUrl: string;
  /** The server's version line. */
  version: string;
  stop: () => void;
}

/** Starts a fresh server; `stop()` (also run on exit) kills it and deletes its folder. */
export function startThrowawayPostgres({ bin = findPostgresBin() }: { bin?: string | null } = {}): ThrowawayPostgres {
  if (!bin) throw new Error(POSTGRES_MISSING);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lvc-pg-"));
  const data = path.join(dir, "data");
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const uid = spawnSync("id", ["-u", "postgres"], { encoding: "utf8" });
    const gid = spawnSync("id", ["-g", "postgres"], { encoding: "utf8" });
    if (uid.status !== 0) throw new Error("running as root, but there is no `postgres` user to run the server as (PostgreSQL refuses root)");
    fs.chownSync(dir, Number(uid.stdout), Number(gid.stdout));
  }
  const run = (cmd: string, args: string[]) => {
    const [file, argv] = asRoot ? ["runuser", ["-u", "postgres", "--", path.join(bin, cmd), ...args]] : [path.join(bin, cmd), args];
    return execFileSync(file, argv, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  };
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    try {
      run("pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"]);
    } catch {
      /* not running */
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  process.once("exit", stop);
  try {
    run("initdb", ["-D", data, "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync"]);
    // Throwaway data: no fsync; Unix socket only (no port to collide with), in the private folder.
    const options = [
      "-c listen_addresses=''",
      `-c unix_socket_directories='${dir}'`,
      "-c fsync=off",
      "-c synchronous_commit=off",
      "-c full_page_writes=off",
      "-c max_connections=300",
      "-c shared_buffers=64MB",
    ].join(" ");
    run("pg_ctl", ["-D", data, "-l", path.join(dir, "server.log"), "-o", options, "-w", "-t", "60", "start"]);
  } catch (err) {
    const log = fs.existsSync(path.join(dir, "server.log")) ? fs.readFileSync(path.join(dir, "server.log"), "utf8").slice(-2000) : "";
    stop();
    throw new Error(`could not start a throwaway PostgreSQL server: ${(err as { stderr?: string }).stderr || (err as Error).message}\n${log}`);
  }
  const version = execFileSync(path.join(bin, "postgres"), ["--version"], { encoding: "utf8" }).trim();
  return { adminUrl: `postgresql://postgres@localhost/postgres?host=${encodeURIComponent(dir)}`, version, stop };
}
