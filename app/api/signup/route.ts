import { apiHandler, json, parseJson } from "@/lib/api/handler";
import { clientIp } from "@/lib/auth/client-ip";
import { signUpSchema } from "@/lib/auth/schema";
import { signUp } from "@/lib/auth/sign-up";

// POST /api/signup – create an account ({ email, password, name? }); sign in afterwards through next-auth
export const POST = apiHandler(async (req) => {
  const body = await parseJson(req, signUpSchema);
  const user = await signUp(body, { ip: clientIp(req.headers.get("x-forwarded-for")) });
  return json({ user }, { status: 201 });
});
