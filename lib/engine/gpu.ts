import { execFileSync } from "node:child_process";
import fs from "node:fs";

/** Shared libraries the dynamic loader can find (from `ldconfig -p` and LD_LIBRARY_PATH). */
export function findSharedLibrary(name: string): boolean {
  for (const dir of (process.env.LD_LIBRARY_PATH ?? "").split(":").filter(Boolean)) {
    if (fs.existsSync(`${dir}/${name}`)) return true;
  }
  try {
    const out = execFileSync("ldconfig", ["-p"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
    return out.includes(name);
  } catch {
    return ["/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/local/cuda/lib64", "/usr/lib"].some((d) => fs.existsSync(`${d}/${name}`));
  }
}
