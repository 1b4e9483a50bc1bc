import fs from "node:fs";

/** An 8×8 grey PNG. */
const PROBE_PNG = "iVBORw0KGgoAAAANSUhEUgAAAAgAAAAICAIAAABLbSncAAAAFUlEQVR4nGM8ceIEAzbAhFV00EoAANcnAmjjOKqVAAAAAElFTkSuQmCC";

/**
 * Writes the probe image every backend encodes once at load: it measures
 * what one image costs in tokens and pays the vision path's first-use cost
 * (GPU pipeline compilation) before a user does.
 */
export function writeProbeImage(file: string): string {
  fs.writeFileSync(file, Buffer.from(PROBE_PNG, "base64"));
  return file;
}
