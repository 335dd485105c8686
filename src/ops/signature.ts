import type { z } from 'zod';
import type { Tensor } from '../tensor.js';
import type { OPS, OpName, PlannedOp } from './registry.js';
import type { TensorDecl } from './types.js';

/**
 * The typed surface of every op, derived from its spec: `backend.rmsNorm({ x, weight }, { eps })`
 * takes exactly the spec's inputs (optional ones optional) and options (zod input type) and
 * returns its outputs. A new op gets its method by being listed in the registry.
 */
type Simplify<T> = { [K in keyof T]: T[K] } & {};

/** `{ name: Tensor }` for the required decls, `{ name?: Tensor }` for the optional ones. */
export type TensorsOf<D extends readonly TensorDecl[]> = Simplify<
  { [E in D[number] as E extends { optional: true } ? never : E['name']]: Tensor } & {
    [E in D[number] as E extends { optional: true } ? E['name'] : never]?: Tensor;
  }
>;

export type OpInputs<N extends OpName> = TensorsOf<(typeof OPS)[N]['inputs']>;
export type OpOutputs<N extends OpName> = TensorsOf<(typeof OPS)[N]['outputs']>;
export type OpOptions<N extends OpName> = z.input<(typeof OPS)[N]['options']>;

/** Per-call routing: force a tier (for cross-checks and benchmarks). */
export interface CallOptions {
  tier?: string;
}

export type OpMethod<N extends OpName> = (inputs: OpInputs<N>, options?: OpOptions<N>, call?: CallOptions) => OpOutputs<N>;

/** snake_case op name → camelCase method name. */
export type Camel<S extends string> = S extends `${infer H}_${infer T}` ? `${H}${Capitalize<Camel<T>>}` : S;
export const camel = (s: string): string => s.replace(/_(\w)/g, (_, c: string) => c.toUpperCase());

export type OpMethods = { [N in OpName as Camel<N>]: OpMethod<N> };

/** A method of PMetal's trait that no backend implements yet: it throws NotSupportedError. */
export type PlannedMethod = (inputs: Record<string, Tensor>, options?: Record<string, unknown>, call?: CallOptions) => never;
export type PlannedMethods = { [K in PlannedOp as Camel<K>]: PlannedMethod };
