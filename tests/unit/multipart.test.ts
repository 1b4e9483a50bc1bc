import { describe, expect, it } from "vitest";
import { multipartBoundary, multipartField } from "@/lib/http/multipart";

// lib/http/multipart.ts against undici's parser (what `new Response(body).formData()` gives),
// on bodies that undici's FormData serializer writes, and on bodies written by hand.

async function serialize(form: FormData): Promise<{ body: Uint8Array; type: string }> {
  const req = new Request("http://x/", { method: "POST", body: form });
  return { body: new Uint8Array(await req.arrayBuffer()), type: req.headers.get("content-type")! };
}

async function undiciFile(body: Uint8Array, type: string, name: string) {
  const form = await new Response(new Uint8Array(body), { headers: { "content-type": type } }).formData().catch(() => "failure" as const);
  if (form === "failure") return "failure";
  const v = form.get(name);
  if (v === null) return null;
  if (typeof v === "string") return { text: v, fileName: null };
  return { bytes: new Uint8Array(await v.arrayBuffer()), fileName: v.name };
}

describe("multipartField", () => {
  it("finds the file field as undici does, without copying it", async () => {
    const bytes = new Uint8Array(300_000).map((_, i) => (i * 2654435761) >>> 24);
    // A run of the boundary's dashes and CRLFs inside the file must not end it.
    bytes.set(new TextEncoder().encode("\r\n------formdata-undici-0\r\n--\r\n"), 1000);
    const form = new FormData();
    form.append("before", "text field");
    form.append("file", new Blob([bytes], { type: "video/mp4" }), 'my "clip" é\r\n.mp4');
    form.append("file", new Blob([new Uint8Array([1, 2, 3])]), "second.bin");
    form.append("after", new Blob([new Uint8Array([9])]), "after.bin");
    const { body, type } = await serialize(form);
    const ours = multipartField(body, type, "file");
    const theirs = await undiciFile(body, type, "file");
    if (!ours || ours === "failure" || !theirs || theirs === "failure") throw new Error("not parsed");
    expect(ours.fileName).toBe(theirs.fileName);
    expect(ours.fileName).toBe('my "clip" é\r\n.mp4');
    expect(ours.contentType).toBe("video/mp4");
    expect(Buffer.compare(Buffer.from(ours.bytes), Buffer.from(theirs.bytes!))).toBe(0);
    expect(ours.bytes.buffer).toBe(body.buffer); // a view, not a copy
  });

  it("tells a text field, a missing field and an empty file name apart", async () => {
    const form = new FormData();
    form.append("file", "just text");
    const { body, type } = await serialize(form);
    expect(multipartField(body, type, "file")).toMatchObject({ fileName: null });
    expect(Buffer.from((multipartField(body, type, "file") as { bytes: Uint8Array }).bytes).toString()).toBe("just text");
    expect(multipartField(body, type, "missing")).toBeNull();
    // A file part whose file name is empty (undici's FormData writes none then: a hand-written body).
    const empty = Buffer.from('--b0und4ry\r\nContent-Disposition: form-data; name="file"; filename=""\r\n\r\nx\r\n--b0und4ry--');
    expect(multipartField(empty, "multipart/form-data; boundary=b0und4ry", "file")).toMatchObject({ fileName: "" });
    expect(await undiciFile(empty, "multipart/form-data; boundary=b0und4ry", "file")).toMatchObject({ fileName: "" });
  });

  it("refuses a truncated body, a body with no boundary and a wrong boundary, as undici does", async () => {
    const form = new FormData();
    form.append("file", new Blob([new Uint8Array(5000).fill(7)]), "a.bin");
    const { body, type } = await serialize(form);
    for (const cut of [body.subarray(0, body.length - 10), body.subarray(0, 3000), body.subarray(0, 20)]) {
      expect(multipartField(cut, type, "file")).toBe("failure");
      expect(await undiciFile(cut, type, "file")).toBe("failure");
    }
    expect(multipartField(body, "multipart/form-data", "file")).toBe("failure");
    expect(multipartField(body, "multipart/form-data; boundary=something-else-entirely", "file")).toBe("failure");
  });

  it("reads a hand-written body: quoted boundary, preamble, LF-free headers, base64 part", () => {
    const type = 'multipart/form-data; boundary="b0und4ry"';
    const body = Buffer.from(
      "preamble to ignore\r\n--b0und4ry\r\n" +
        'Content-Disposition: form-data; name="note"\r\n\r\nhello\r\n' +
        "--b0und4ry\r\n" +
        'Content-Disposition: form-data; name="file"; filename="x.txt"\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n' +
        `${Buffer.from("decoded!").toString("base64")}\r\n--b0und4ry--\r\n`,
    );
    expect(multipartBoundary(type)).toBe("b0und4ry");
    const file = multipartField(body, type, "file");
    expect(file).toMatchObject({ fileName: "x.txt", contentType: "text/plain" });
    expect(Buffer.from((file as { bytes: Uint8Array }).bytes).toString()).toBe("decoded!");
    // A part without Content-Disposition's name is malformed.
    const bad = Buffer.from('--b0und4ry\r\nContent-Type: text/plain\r\n\r\nx\r\n--b0und4ry--\r\n');
    expect(multipartField(bad, type, "file")).toBe("failure");
    expect(multipartBoundary("application/json")).toBeNull();
  });
});
