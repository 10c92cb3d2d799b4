/** The time source every service reads; tests move it, production reads the system. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
