/** The time source every service reads; tests and the emulator move it, production reads the system. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
