/** The emulator's base time; `/_emulator/clock/advance` adds an offset on top of it. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
