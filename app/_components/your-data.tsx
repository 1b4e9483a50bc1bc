"use client";

import Link from "next/link";
import { useRouter } from "next/navigation";
import { useRef, useState } from "react";
import "./export.css";

type Progress = { phase: "uploading"; percent: number } | { phase: "importing" };
interface Imported {
  conversations: { id: string; title: string; url: string }[];
  images: number;
}

/** Sends a JSON export to /api/import, reporting how much of it has been sent. */
function postImport(file: File, onProgress: (p: Progress) => void): Promise<Imported> {
  return new Promise((resolve, reject) => {
    // XMLHttpRequest because fetch cannot report upload progress.
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/import");
    xhr.setRequestHeader("content-type", "application/json");
    xhr.responseType = "json";
    xhr.upload.onprogress = (e) => e.lengthComputable && onProgress({ phase: "uploading", percent: Math.round((e.loaded / e.total) * 100) });
    xhr.upload.onload = () => onProgress({ phase: "importing" });
    xhr.onload = () => {
      const body = xhr.response as (Imported & { error?: { message: string } }) | null;
      if (xhr.status === 201 && body) resolve(body);
      else reject(new Error(body?.error?.message ?? `The import failed (HTTP ${xhr.status}).`));
    };
    xhr.onerror = () => reject(new Error("The file could not be sent. Check the connection and try again."));
    xhr.send(file);
  });
}

/** Settings → "Your data": download every conversation, or import a JSON export. */
export function YourData() {
  const router = useRouter();
  const input = useRef<HTMLInputElement>(null);
  const [progress, setProgress] = useState<Progress | null>(null);
  const [result, setResult] = useState<Imported | null>(null);
  const [error, setError] = useState<string | null>(null);

  async function importFile(file: File) {
    setError(null);
    setResult(null);
    setProgress({ phase: "uploading", percent: 0 });
    try {
      setResult(await postImport(file, setProgress));
      router.refresh(); // the sidebar lists the new conversations
    } catch (err) {
      setError(`${file.name}: ${(err as Error).message}`);
    } finally {
      setProgress(null);
      if (input.current) input.current.value = "";
    }
  }

  return (
    <section className="your-data" aria-labelledby="your-data-title">
      <h2 id="your-data-title">Your data</h2>
      <p className="muted">
        Download all your conversations. JSON keeps everything (every branch, settings and images) and can be imported again, here or on
        another installation; Markdown is for reading, with the images beside each conversation.
      </p>
      <div className="your-data-actions">
        <a className="button" href="/api/export?format=json" download>
          Export all (JSON)
        </a>
        <a className="button" href="/api/export?format=markdown" download>
          Export all (Markdown zip)
        </a>
      </div>
      <label className="your-data-import">
        Import conversations (a JSON export)
        <input
          ref={input}
          type="file"
          accept="application/json,.json"
          disabled={progress !== null}
          onChange={(e) => {
            const file = e.target.files?.[0];
            if (file) void importFile(file);
          }}
        />
      </label>
      {progress && (
        <div className="your-data-progress" role="status">
          {progress.phase === "uploading" ? (
            <>
              <progress max={100} value={progress.percent} aria-label="Sending the file" /> Sending… {progress.percent}%
            </>
          ) : (
            <>
              <progress aria-label="Importing" /> Importing…
            </>
          )}
        </div>
      )}
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {result && (
        <div className="your-data-result" role="status">
          <p>
            Imported {result.conversations.length} {result.conversations.length === 1 ? "conversation" : "conversations"}
            {result.images ? ` with ${result.images} ${result.images === 1 ? "image" : "images"}` : ""}:
          </p>
          <ul>
            {result.conversations.map((c) => (
              <li key={c.id}>
                <Link href={c.url}>{c.title}</Link>
              </li>
            ))}
          </ul>
        </div>
      )}
    </section>
  );
}
