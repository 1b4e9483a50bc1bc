import { describe, expect, it, vi } from "vitest";
import { z } from "zod";
import { AppError, errorResponse } from "@/lib/errors";

describe("errorResponse", () => {
  it("maps AppError codes to statuses with a safe message and Retry-After", async () => {
    const res = errorResponse(new AppError("unavailable:engine", "Busy.", { retryAfterSeconds: 2.2 }));
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("3");
    expect(await res.json()).toEqual({ error: { code: "unavailable:engine", message: "Busy." } });
  });

  it("maps a ZodError to 400 with its issues", async () => {
    const err = z.object({ title: z.string() }).safeParse({ title: 1 }).error!;
    const res = errorResponse(err);
    expect(res.status).toBe(400);
    const body = await res.json();
    expect(body.error.message).toMatch(/^title: /);
    expect(body.error.details[0].path).toEqual(["title"]);
  });

  it("maps Prisma P2025 to 404 and P2002 to 409", () => {
    expect(errorResponse(Object.assign(new Error("x"), { code: "P2025" })).status).toBe(404);
    expect(errorResponse(Object.assign(new Error("x"), { code: "P2002" })).status).toBe(409);
  });

  it("answers anything else with an opaque 500 and logs it", async () => {
    const log = vi.spyOn(console, "error").mockImplementation(() => {});
    const res = errorResponse(new Error("SQLITE_CORRUPT at /secret/path"));
    expect(res.status).toBe(500);
    expect(JSON.stringify(await res.json())).not.toMatch(/secret|SQLITE/);
    expect(log).toHaveBeenCalled();
    log.mockRestore();
  });

  it("answers a request body cut by the client leaving with 400, not a logged 500", async () => {
    const log = vi.spyOn(console, "error").mockImplementation(() => {});
    const res = errorResponse(Object.assign(new Error("aborted"), { code: "ECONNRESET" }));
    expect(res.status).toBe(400);
    expect((await res.json()).error.message).toBe("The request was cancelled.");
    expect(log).not.toHaveBeenCalled();
    log.mockRestore();
  });
});
