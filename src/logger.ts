import pino, { type Logger } from "pino";
import type { Config } from "./config.js";

/**
 * Database drivers put the failed query's parameters on their errors (PGlite: `params`), which
 * can hold password hashes, tokens or emails: errors are logged without them.
 */
function errorWithoutParameters(error: Error): Record<string, unknown> {
  const {
    params: _params,
    queryOptions: _options,
    parameters: _parameters,
    ...rest
  } = pino.stdSerializers.err(error) as Record<string, unknown>;
  return rest;
}

export function createLogger(config: Pick<Config, "logLevel">, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level: config.logLevel,
      base: { service: "meterline" },
      serializers: { err: errorWithoutParameters },
      redact: ["req.headers.authorization", "req.headers.cookie", 'res.headers["set-cookie"]'],
    },
    destination,
  );
}
