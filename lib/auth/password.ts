import "server-only";
import bcrypt from "bcryptjs";

/** bcrypt cost factor: ~100 ms per hash on a small CPU, the usual interactive budget. */
const COST = 11;

export const hashPassword = (password: string) => bcrypt.hash(password, COST);

export const verifyPassword = (password: string, hash: string) => bcrypt.compare(password, hash);

/** A valid hash to compare against when the email is unknown, so timing does not reveal accounts. */
export const dummyHash = bcrypt.hashSync("not-a-real-password", COST);
