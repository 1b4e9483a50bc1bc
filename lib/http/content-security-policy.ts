/**
 * The pages' Content-Security-Policy. Scripts run only with this request's
 * nonce (Next.js puts it on its own scripts, found in the request's CSP
 * header) or when loaded by such a script ('strict-dynamic'); nothing may
 * frame the app. Styles allow inline `style` attributes, which React
 * components set (the lightbox's zoom transform, progress bars); a nonce
 * would make browsers ignore 'unsafe-inline', so there is none in style-src.
 * Images: this origin, `blob:` previews of images being uploaded, `data:`.
 * In development React needs 'unsafe-eval' for its error overlay.
 */
export function contentSecurityPolicy({ nonce, dev = false }: { nonce: string; dev?: boolean }): string {
  return [
    "default-src 'self'",
    `script-src 'self' 'nonce-${nonce}' 'strict-dynamic'${dev ? " 'unsafe-eval'" : ""}`,
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' blob: data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join("; ");
}
