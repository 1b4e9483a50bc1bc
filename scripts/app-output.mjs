// Imported first by scripts/server.mjs. Native code in this process
// (llama.cpp and its bindings) writes prompts and conversation text to file
// descriptors 1 and 2 from C, out of JavaScript's reach. When
// scripts/start.ts runs the server it passes the real stdout and stderr as
// the descriptors in APP_OUTPUT_FDS ("3,4") and reads 1 and 2 itself through
// lib/logging/native-log-filter.ts; here the app's own (JavaScript) output is
// pointed at the real ones. Without APP_OUTPUT_FDS (`next dev`) nothing changes.
import fs from "node:fs";
import net from "node:net";
import tty from "node:tty";

/** A writable stream for an inherited descriptor: terminal, file or pipe. */
function writableFor(fd) {
  if (tty.isatty(fd)) return new tty.WriteStream(fd);
  if (fs.fstatSync(fd).isFile()) {
    return {
      write(chunk, encoding, cb) {
        fs.writeSync(fd, typeof chunk === "string" ? chunk : Buffer.from(chunk));
        (typeof encoding === "function" ? encoding : cb)?.();
        return true;
      },
    };
  }
  return new net.Socket({ fd, readable: false, writable: true });
}

const fds = process.env.APP_OUTPUT_FDS?.split(",").map(Number);
if (fds?.length === 2 && fds.every((fd) => Number.isInteger(fd) && fd > 2)) {
  const [outFd, errFd] = fds;
  const out = writableFor(outFd);
  const err = writableFor(errFd);
  process.stdout.write = (chunk, encoding, cb) => out.write(chunk, encoding, cb);
  process.stderr.write = (chunk, encoding, cb) => err.write(chunk, encoding, cb);
  // Node prints a fatal exception from C++ to fd 2, where the filter would
  // drop it: print it to the real stderr first (synchronously: the process
  // is about to end).
  process.on("uncaughtExceptionMonitor", (error, origin) => {
    const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
    fs.writeSync(errFd, `${origin}: ${text}\n`);
  });
}
