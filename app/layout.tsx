import type { Metadata, Viewport } from "next";
import { connection } from "next/server";
import { ThemeProvider } from "@/app/_components/theme";
import { currentUserId } from "@/lib/auth/session";
import { getTheme } from "@/lib/db/theme";
import "./globals.css";

export const metadata: Metadata = {
  title: "Local Vision Chat",
  description: "A private assistant that chats about your images, running entirely on this machine.",
};

export const viewport: Viewport = {
  width: "device-width",
  initialScale: 1,
  colorScheme: "light dark",
};

/**
 * Rendered per request, even the 404 page: each response's scripts carry its
 * CSP nonce (proxy.ts). The signed-in user's theme is written into
 * <html data-theme> here, so the first paint has it (no flash, no script).
 */
export default async function RootLayout({ children }: { children: React.ReactNode }) {
  await connection();
  const userId = await currentUserId();
  const theme = userId ? await getTheme({ userId }) : "system";
  return (
    <html lang="en" data-theme={theme === "system" ? undefined : theme}>
      <body>
        <ThemeProvider theme={theme}>{children}</ThemeProvider>
      </body>
    </html>
  );
}
