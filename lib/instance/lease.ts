import "server-only";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import { type LeaseRow, registerInstance, removeInstance, renewInstance, sweepInstances } from "@/lib/db/instances";
import { closeOrphanedAnswers } from "@/lib/db/messages";
import { env } from "@/lib/env";

/**
 * This process as one app instance among those sharing the database. It
 * holds a lease (an AppInstance row) renewed every quarter of
 * INSTANCE_LEASE_MS and records itself on every answer it writes. Every
 * instance, at start-up and at each renewal, removes the leases that expired
 * and closes as `stopped` the answers their instances were writing (their
 * partial text is kept), so a survivor cleans up after a killed peer within
 * about INSTANCE_LEASE_MS, and an answer being written by a live instance is
 * never touched. The lease is removed on a clean shutdown.
 *
 * A lease of this same machine whose process has ended (a crash, kill -9,
 * then a restart) is not waited for: its answers are closed at once, so the
 * one-instance default never makes a user wait for a lease to lapse.
 *
 * Clocks: leases are stamped with the writer's clock and judged with the
 * reader's, so the instances' clocks must agree to well within the lease
 * (NTP does; a skew of a few seconds is tolerated at the default 20 s).
 */
interface LeaseState {
  id: string;
  timer?: NodeJS.Timeout;
  /** The renewal or sweep in progress, so shutdown can wait for it. */
  running?: Promise<void>;
  stopped?: boolean;
}

// On globalThis: instrumentation and the route bundles are separate module graphs in one process.
const holder = globalThis as { __instanceLease?: LeaseState };
const state = (holder.__instanceLease ??= { id: `${os.hostname()}-${process.pid}-${randomBytes(4).toString("hex")}` });

/** This process's instance id (the owner recorded on the answers it writes). */
export const instanceId = (): string => state.id;

/** This machine: its host name, plus its machine id where there is one (two machines may share a name). */
export const hostId = (() => {
  let machine = "";
  for (const file of ["/etc/machine-id", "/var/lib/dbus/machine-id"]) {
    try {
      machine = fs.readFileSync(file, "utf8").trim().slice(0, 12);
      if (machine) break;
    } catch {
      /* not on this system */
    }
  }
  const id = machine ? `${os.hostname()}#${machine}` : os.hostname();
  return () => id;
})();

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM"; // alive, someone else's
  }
}

/**
 * A lease of this machine whose process has ended: its pid is not running,
 * or is this process's own (a restart that got the same pid, as in a
 * container). Other machines' leases are left to expire.
 */
export const processGone = (lease: LeaseRow): boolean =>
  lease.id !== state.id && lease.host === hostId() && (lease.pid === process.pid || !processAlive(lease.pid));

const leaseMs = () => env.INSTANCE_LEASE_MS;
const expiry = () => new Date(Date.now() + leaseMs());

/**
 * Removes expired leases and closes the answers of instances that are gone;
 * returns how many answers it closed.
 */
export async function closeAnswersOfGoneInstances(): Promise<number> {
  const now = new Date();
  const { live, dead } = await sweepInstances(now, processGone);
  // An owner without a lease: only answers older than one renewal period,
  // so an instance that registered after the read above is never touched.
  const closed = await closeOrphanedAnswers({ live: [...live, state.id], dead, startedBefore: new Date(now.getTime() - leaseMs() / 4) });
  if (closed) console.log(`[instance] closed ${closed} answer(s) interrupted when an instance stopped, as stopped${dead.length ? ` (expired: ${dead.join(", ")})` : ""}`);
  return closed;
}

async function heartbeat(): Promise<void> {
  if (!(await renewInstance({ id: state.id, expiresAt: expiry() }))) {
    // Another instance found this lease expired (this process stalled for longer
    // than the lease) and closed its answers: their later saves change nothing.
    console.warn(`[instance] ${state.id}: the lease had expired and was removed by another instance; registering again`);
    await registerInstance({ id: state.id, host: hostId(), pid: process.pid, expiresAt: expiry() });
  }
  await closeAnswersOfGoneInstances();
}

/** Takes the lease, closes what gone instances left, and keeps renewing (call once, at start-up). */
export async function startInstanceLease(): Promise<void> {
  if (state.timer || state.stopped) return;
  await registerInstance({ id: state.id, host: hostId(), pid: process.pid, expiresAt: expiry() });
  console.log(`[instance] ${state.id} holds a lease (${leaseMs()} ms, renewed every ${leaseMs() / 4} ms)`);
  await closeAnswersOfGoneInstances();
  state.timer = setInterval(() => {
    if (state.running || state.stopped) return; // a slow database: skip a beat rather than pile them up
    state.running = heartbeat()
      .catch((err) => console.error("[instance] lease renewal failed:", err))
      .finally(() => (state.running = undefined));
  }, leaseMs() / 4);
  state.timer.unref();
}

/** Stops renewing and removes the lease (clean shutdown, after the answers were saved). */
export async function stopInstanceLease(): Promise<void> {
  state.stopped = true;
  clearInterval(state.timer);
  await state.running;
  await removeInstance(state.id);
}
