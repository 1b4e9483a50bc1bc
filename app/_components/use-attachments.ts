"use client";

import type { FileUIPart } from "ai";
import { useCallback, useEffect, useRef, useState } from "react";

export interface PendingImage {
  key: string;
  name: string;
  previewUrl: string;
  progress: number;
  status: "uploading" | "done" | "error";
  error?: string;
  part?: FileUIPart;
}

/** Uploads with progress (XHR: fetch cannot report upload progress). */
function upload(file: File, onProgress: (fraction: number) => void): Promise<FileUIPart> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/uploads");
    xhr.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded / e.total);
    xhr.onerror = () => reject(new Error("The upload failed: the server could not be reached."));
    xhr.onload = () => {
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

/** The images attached to the message being written: add, remove, wait for uploads. */
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
        const item: PendingImage = { key, name: file.name || "pasted image", previewUrl: URL.createObjectURL(file), progress: 0, status: "uploading" };
        setItems((all) => [...all, item]);
        upload(file, (progress) => update(key, { progress }))
          .then((part) => update(key, { status: "done", progress: 1, part }))
          .catch((err: Error) => update(key, { status: "error", error: err.message }));
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

  /** Replaces the list with already-uploaded images (edit and resend). */
  const reset = (parts: FileUIPart[]) => {
    clear();
    setItems(parts.map((part) => ({ key: `img-${++counter.current}`, name: part.filename ?? "image", previewUrl: part.url, progress: 1, status: "done", part })));
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
