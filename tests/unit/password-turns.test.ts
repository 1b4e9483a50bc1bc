import { describe, expect, it } from "vitest";
import bcrypt from "bcryptjs";
import { dummyHash, hashPassword, needsRehash, verifyPassword } from "@/lib/auth/password";

describe("password hashing takes turns", () => {
  it("runs an attempt from a known address before the ones already waiting", async () => {
    const order: string[] = [];
    const spray = Array.from({ length: 6 }, (_, i) => verifyPassword(`spray-${i}`, dummyHash).then(() => order.push(`spray-${i}`)));
    // Queued after all six, yet it runs right after the one in progress.
    const owner = verifyPassword("not-a-real-password", dummyHash, { first: true }).then((ok) => {
      order.push("owner");
      return ok;
    });
    await Promise.all([...spray, owner]);
    expect(await owner).toBe(true);
    expect(order.indexOf("owner")).toBeLessThanOrEqual(1);
    // The others keep their order.
    expect(order.filter((o) => o !== "owner")).toEqual(["spray-0", "spray-1", "spray-2", "spray-3", "spray-4", "spray-5"]);
  });

  it("keeps going after a failed hash", async () => {
    await expect(verifyPassword("x", "not a bcrypt hash")).resolves.toBe(false);
    const hash = await hashPassword("still works");
    await expect(verifyPassword("still works", hash)).resolves.toBe(true);
  });

  it("asks for a hash made at another cost than PASSWORD_HASH_COST's (11 here) to be made again", async () => {
    expect(needsRehash(bcrypt.hashSync("pw", 4))).toBe(true);
    expect(needsRehash(await hashPassword("pw"))).toBe(false);
    expect(needsRehash(dummyHash)).toBe(false);
    expect(needsRehash("not a bcrypt hash")).toBe(false);
  });
});
