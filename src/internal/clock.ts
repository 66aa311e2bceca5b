/**
 * The one shape of "what time is it" that every component reading time takes as an option, so
 * tests move time on a controllable clock (test/support/test-clock.ts) instead of sleeping.
 * A function returning a fresh Date: the shape the domain services already took.
 */
export type Clock = () => Date;

/** The wall clock: every component's default, and what production runs on. */
export const systemClock: Clock = () => new Date();
