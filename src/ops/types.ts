import type { z } from 'zod';
import type { DType, FloatDType, HostArray } from '../dtype.js';

/** What shape checks see of a tensor: no data, so checks run before anything is launched. */
export interface TensorInfo {
  readonly dtype: DType;
  readonly shape: readonly number[];
}

/** A tensor on the host in float64 (values already rounded to `dtype`): the reference's currency. */
export interface RefTensor extends TensorInfo {
  readonly data: Float64Array;
}

/** Host data in a dtype's storage form, as uploaded to a backend. */
export interface HostTensor extends TensorInfo {
  readonly data: HostArray;
}

export type Infos<K extends string> = { [P in K]?: TensorInfo };
export type Refs<K extends string> = { [P in K]?: RefTensor };

/** One conformance case: a curated shape class with options; seeds are its subcases. */
export interface OpCase {
  /** Stable label, e.g. `rows=7,cols=4096`; the case id is `op:dtype:label:seed=N`. */
  readonly label: string;
  readonly options: Record<string, unknown>;
  /** Part of the quick subset run by the tests. */
  readonly quick?: boolean;
  /** Host inputs for a dtype and seed. Float inputs are rounded to the dtype here. */
  make(dtype: FloatDType, seed: number): Record<string, HostTensor>;
}

export interface BenchShape {
  readonly label: string;
  readonly options: Record<string, unknown>;
  make(dtype: FloatDType, seed: number): Record<string, HostTensor>;
}

export interface Cost {
  readonly flops: number;
  /** Bytes that must move to/from memory at least once (the roofline's numerator). */
  readonly bytes: number;
}

/**
 * The per-element error bound of each output, derived from the dtype, the reduction length
 * and the accuracy WGSL/MSL guarantee for the functions the kernel uses.
 */
export type Bounds<O extends string> = { [P in O]?: Float64Array };

export interface GradCheck {
  /** The forward op whose float64 reference is differentiated. */
  readonly forward: string;
  /** Maps a forward input to the backward output holding its gradient. */
  readonly grads: Record<string, string>;
  /** Forward outputs that receive an upstream gradient, and the backward input it feeds. */
  readonly upstream: Record<string, string>;
  /** Forward cases the check applies to (e.g. not those with inputs it does not differentiate). */
  readonly applies?: (c: OpCase) => boolean;
  /** Builds the backward op's inputs from the forward inputs/outputs and the upstream grads. */
  backwardInputs(fwdIn: Record<string, RefTensor>, fwdOut: Record<string, RefTensor>, up: Record<string, RefTensor>): Record<string, RefTensor>;
}

/** A named tensor of an op's signature; `optional` ones may be absent (inputs) or not produced (outputs). */
export interface TensorDecl<N extends string = string> {
  readonly name: N;
  readonly optional?: boolean;
  readonly doc: string;
}

/** Outputs updated in place: output name → the input whose storage it is. */
export type InPlaceMap<O extends string = string, I extends string = string> = { readonly [P in O]?: I };

/**
 * The outputs a call updates in place (empty when none): the spec's static map, or its
 * function of this call's inputs and parsed options. Planned once per signature (base.ts).
 */
export function inPlaceOf(spec: Pick<OpSpec, 'inPlace'>, inputs: Infos<string>, options: unknown): Record<string, string> {
  const m = typeof spec.inPlace === 'function' ? spec.inPlace(inputs, options) : spec.inPlace;
  const out: Record<string, string> = {};
  for (const [o, i] of Object.entries(m ?? {})) if (i !== undefined) out[o] = i as string;
  return out;
}

/** An output's value on a call with no work (see OpSpec.emptyResult). */
export type EmptyValue<I extends string = string> = number | { readonly input: I; readonly scale?: number };

export interface OpSpec<I extends string = string, O extends string = string, Opt = any> {
  readonly name: string;
  readonly summary: string;
  readonly inputs: readonly TensorDecl<I>[];
  /** Outputs, in the order they are reported; an optional one is produced only when the inputs/options ask for it. */
  readonly outputs: readonly TensorDecl<O>[];
  /**
   * Outputs that are inputs updated in place (output name → input name): the backend writes
   * into that input's storage and returns the same Tensor — a KV-cache write costs the rows
   * it writes, not a copy of the cache. The reference works on copies (RefTensors) and
   * returns the updated values. An in-place input must not share storage with any other
   * input (checked on every call); the op has no work when its primary input is empty.
   * A function decides it per call from the inputs given and the parsed options (an op whose
   * in-place mode is an option, as PyTorch's optimizers update in place): see inPlaceOf.
   */
  readonly inPlace?: InPlaceMap<O, I> | ((inputs: Infos<I>, options: Opt) => InPlaceMap<O, I> | undefined);
  readonly options: z.ZodType<Opt>;
  /** The dtypes the op is defined for (of its primary, first input). */
  readonly dtypes: readonly FloatDType[];
  /** Validates inputs against each other and the options; returns each output's dtype/shape (absent = not produced). */
  check(inputs: Infos<I>, options: Opt): { [P in O]?: TensorInfo };
  /** The oracle: float64 math on the (already dtype-rounded) inputs. */
  reference(inputs: Refs<I>, options: Opt): Refs<O>;
  /** Error bounds of a GPU kernel (f32 accumulation, WGSL/MSL function accuracy) for each output element. */
  bounds(inputs: Refs<I>, options: Opt, ref: Refs<O>): Bounds<O>;
  readonly cases: readonly OpCase[];
  readonly bench: readonly BenchShape[];
  cost(inputs: Infos<I>, options: Opt): Cost;
  readonly gradCheck?: GradCheck;
  /**
   * A call with no work whose outputs are not all empty (a reduction over zero rows): each
   * non-empty output's value, as PyTorch gives it; backends then launch nothing. A number is
   * every element's value (absent = 0: a sum over nothing); `{ input, scale }` is that input's
   * elements times `scale` (default 1): an accumulator carried through a sum over nothing
   * (dw = dwIn, C = β·C). undefined when the call has work. (Outputs that are all empty need
   * no hook.)
   */
  emptyResult?(inputs: Infos<I>, options: Opt): { [P in O]?: EmptyValue<I> } | undefined;
  /**
   * Draws one random case (shape classes that break kernels, valid options) from a stream:
   * `pmetal fuzz` runs these against the reference. Without it the fuzzer draws from `cases`.
   */
  readonly fuzz?: (r: () => number) => OpCase;
}

/**
 * Declares an op. The literal input/output lists and the zod schema keep their exact types,
 * so every backend's typed method (`backend.rmsNorm(...)`) is derived from the spec alone
 * (src/ops/signature.ts) — no per-op method is written anywhere else.
 */
export function defineOp<const In extends readonly TensorDecl[], const Out extends readonly TensorDecl[], S extends z.ZodType>(
  spec: Omit<OpSpec<In[number]['name'], Out[number]['name'], z.output<S>>, 'inputs' | 'outputs' | 'options'> & { readonly inputs: In; readonly outputs: Out; readonly options: S },
): typeof spec {
  return spec;
}
