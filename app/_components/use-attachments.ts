"use client";

import type { FileUIPart } from "ai";
import { useCallback, useEffect, useRef, useState } from "react";

/** What a file is, as far as the browser can tell from its type and name (the server decides from its bytes). */
export type AttachmentKind = "image" | "video" | "audio" | "pdf" | "data";

export function kindOfFile(file: { type: string; name: string }): AttachmentKind {
  const type = file.type.toLowerCase();
  const ext = /\.([a-z0-9]+)$/i.exec(file.name)?.[1]?.toLowerCase() ?? "";
  if (type.startsWith("video/") || ["mp4", "webm", "mov", "mkv", "m4v"].includes(ext)) return "video";
  if (type.startsWith("audio/") || ["wav", "mp3", "ogg", "opus", "flac", "m4a"].includes(ext)) return "audio";
  if (type === "application/pdf" || ext === "pdf") return "pdf";
  if (/^(text\/(csv|tab-separated-values)|application\/json|application\/vnd\.openxmlformats-officedocument\.spreadsheetml\.sheet)$/.test(type) || ["csv", "tsv", "json", "xlsx"].includes(ext)) {
    return "data";
  }
  return "image";
}

/** The kind of a stored attachment, from its media type. */
export function kindOfMediaType(mediaType: string): AttachmentKind {
  return kindOfFile({ type: mediaType, name: "" });
}

export interface PendingImage {
  key: string;
  name: string;
  kind: AttachmentKind;
  previewUrl: string;
  /** 0–1 of the bytes sent. */
  progress: number;
  /** Once the bytes are in: the server reading a video, audio file, PDF or table (0–100). */
  reading?: number;
  status: "uploading" | "done" | "error";
  error?: string;
  part?: FileUIPart;
}

type UploadLine =
  | { type: "progress"; kind: string; percent: number }
  | { type: "done"; status: number; attachment: { url: string; mediaType: string } }
  | { type: "error"; status: number; error: { message: string } };

/**
 * Uploads with progress (XHR: fetch cannot report upload progress). A file
 * the server reads (video, audio, PDF, table) asks for the answer as lines
 * of JSON, so that how far the reading has come is known while it runs.
 */
function upload(file: File, kind: AttachmentKind, onProgress: (fraction: number) => void, onReading: (percent: number) => void): Promise<FileUIPart> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    const streamed = kind !== "image";
    xhr.open("POST", "/api/uploads");
    if (streamed) xhr.setRequestHeader("accept", "application/x-ndjson, application/json");
    xhr.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded / e.total);
    xhr.upload.onload = () => streamed && onReading(0);
    xhr.onerror = () => reject(new Error("The upload failed: the server could not be reached."));
    let seen = 0;
    let last: UploadLine | null = null;
    const readLines = () => {
      if (!(xhr.getResponseHeader("content-type") ?? "").startsWith("application/x-ndjson")) return;
      const text = xhr.responseText;
      let nl: number;
      while ((nl = text.indexOf("\n", seen)) >= 0) {
        const line = text.slice(seen, nl);
        seen = nl + 1;
        try {
          const parsed = JSON.parse(line) as UploadLine;
          if (parsed.type === "progress") onReading(parsed.percent);
          else last = parsed;
        } catch {
          /* not a line of ours */
        }
      }
    };
    xhr.onprogress = readLines;
    xhr.onload = () => {
      readLines();
      const done = last as UploadLine | null;
      if (done?.type === "done") return resolve({ type: "file", mediaType: done.attachment.mediaType, url: done.attachment.url, filename: file.name });
      if (done?.type === "error") return reject(new Error(done.error.message ?? `The upload failed (${done.status}).`));
      let body: { attachment?: { url: string; mediaType: string }; error?: { message: string } } = {};
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        /* not JSON */
      }
      if (xhr.status === 201 && body.attachment) {
        resolve({ type: "file", mediaType: body.attachment.mediaType, url: body.attachment.url, filename: file.name });
      } else {
        reject(new Error(body.error?.message ?? `The upload failed (${xhr.status}).`));
      }
    };
    const form = new FormData();
    form.append("file", file);
    xhr.send(form);
  });
}

/** The files attached to the message being written: add, remove, wait for uploads (and for the server to read them). */
export function useAttachments({ max }: { max: number }) {
  const [items, setItems] = useState<PendingImage[]>([]);
  const counter = useRef(0);
  const itemsRef = useRef(items);
  useEffect(() => {
    itemsRef.current = items;
  }, [items]);
  useEffect(() => () => itemsRef.current.forEach((i) => URL.revokeObjectURL(i.previewUrl)), []);

  const update = (key: string, patch: Partial<PendingImage>) =>
    setItems((all) => all.map((i) => (i.key === key ? { ...i, ...patch } : i)));

  const add = useCallback(
    (files: Iterable<File>) => {
      const room = max - itemsRef.current.length;
      const accepted = [...files].slice(0, Math.max(0, room));
      for (const file of accepted) {
        const key = `img-${++counter.current}`;
        const kind = kindOfFile(file);
        const item: PendingImage = { key, name: file.name || "pasted image", kind, previewUrl: URL.createObjectURL(file), progress: 0, status: "uploading" };
        setItems((all) => [...all, item]);
        upload(
          file,
          kind,
          (progress) => update(key, { progress }),
          (reading) => update(key, { progress: 1, reading }),
        )
          .then((part) => update(key, { status: "done", progress: 1, reading: undefined, part, kind: kind === "image" ? kindOfMediaType(part.mediaType) : kind }))
          .catch((err: Error) => update(key, { status: "error", reading: undefined, error: err.message }));
      }
      return accepted.length;
    },
    [max],
  );

  const remove = (key: string) =>
    setItems((all) => {
      const gone = all.find((i) => i.key === key);
      if (gone) URL.revokeObjectURL(gone.previewUrl);
      return all.filter((i) => i.key !== key);
    });

  const clear = () => {
    items.forEach((i) => URL.revokeObjectURL(i.previewUrl));
    setItems([]);
  };

  /** Replaces the list with already-uploaded files (edit and resend). */
  const reset = (parts: FileUIPart[]) => {
    clear();
    setItems(
      parts.map((part) => ({ key: `img-${++counter.current}`, name: part.filename ?? "image", kind: kindOfMediaType(part.mediaType), previewUrl: part.url, progress: 1, status: "done", part })),
    );
  };

  return {
    items,
    add,
    remove,
    clear,
    reset,
    uploading: items.some((i) => i.status === "uploading"),
    failed: items.some((i) => i.status === "error"),
    parts: items.flatMap((i) => (i.part ? [i.part] : [])),
  };
}
