import { OptionsError } from './errors.js';

/**
 * A 0|1 switch read from the environment (tuning and bench switches such as
 * PMETAL_DECODE_UNROLL): '1' is true, '0' false, unset or empty `dflt`; anything else is an
 * OptionsError naming the op and the variable. `v` overrides the environment (tests).
 */
export function envFlag(op: string, name: string, dflt: boolean, v = typeof process !== 'undefined' ? process.env[name] : undefined): boolean {
  if (v === undefined || v === '') return dflt;
  if (v !== '0' && v !== '1') throw new OptionsError(`[${op}] ${name}: expected 0 or 1, got '${v}'`);
  return v === '1';
}
