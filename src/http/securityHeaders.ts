/**
 * The security headers of every answer. They never vary by request, so they are computed once
 * at start and copied onto each reply: computing them per request, as a middleware does, took a
 * third of the entitlement check's time.
 */

/**
 * What the console's pages may load: its own scripts, styles and API, images inline as data:
 * (uPlot's canvases, CSS icons), nothing from elsewhere, no inline script, and no framing.
 */
function consolePolicy({ https }: { https: boolean }): Record<string, string[]> {
  return {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "font-src": ["'self'"],
    "connect-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'none'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
    ...(https ? { "upgrade-insecure-requests": [] } : {}),
  };
}

function policyText(directives: Record<string, string[]>): string {
  return Object.entries(directives)
    .map(([name, values]) => [name, ...values].join(" "))
    .join("; ");
}

/** Swagger UI sets inline styles as it renders; everything else stays as strict as the console. */
export function docsPolicy({ https }: { https: boolean }): string {
  return policyText({ ...consolePolicy({ https }), "style-src": ["'self'", "'unsafe-inline'"] });
}

/**
 * Pages and JSON alike: the console's policy, no sniffing, no framing, no referrer to other
 * sites, no window shared with another origin, and over https, https only for a year.
 */
export function securityHeaders({ https }: { https: boolean }): Record<string, string> {
  return {
    "content-security-policy": policyText(consolePolicy({ https })),
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "referrer-policy": "same-origin",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    ...(https ? { "strict-transport-security": "max-age=31536000" } : {}),
  };
}
