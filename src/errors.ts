/**
 * One error base with a stable `code`; every message starts with the op or subsystem in
 * brackets (`[rms_norm] weight: expected f16[4096], got f32[4096]`) so a log line alone
 * says where it came from.
 */
export type ErrorCode =
  | 'BACKEND_UNAVAILABLE'
  | 'NOT_SUPPORTED'
  | 'TIER_UNAVAILABLE'
  | 'SHAPE'
  | 'DTYPE'
  | 'OPTIONS'
  | 'DISPOSED'
  | 'BACKEND_MISMATCH'
  | 'SHADER_COMPILE'
  | 'GPU_VALIDATION'
  | 'GPU_OUT_OF_MEMORY'
  | 'DEVICE_LOST'
  | 'KERNEL'
  | 'LIMIT'
  | 'MODEL_LOAD'
  | 'DATA';

export class PmetalError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** The backend cannot be loaded here (no adapter, no addon); the message says how to fix it. */
export class BackendUnavailableError extends PmetalError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('BACKEND_UNAVAILABLE', message, options);
  }
}
/** The backend does not implement this op (it is then absent from its capabilities too). */
export class NotSupportedError extends PmetalError {
  constructor(message: string) {
    super('NOT_SUPPORTED', message);
  }
}
/** A tier was forced that this backend/adapter/dtype cannot run. */
export class TierUnavailableError extends PmetalError {
  constructor(message: string) {
    super('TIER_UNAVAILABLE', message);
  }
}
export class ShapeError extends PmetalError {
  constructor(message: string) {
    super('SHAPE', message);
  }
}
export class DTypeError extends PmetalError {
  constructor(message: string) {
    super('DTYPE', message);
  }
}
export class OptionsError extends PmetalError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('OPTIONS', message, options);
  }
}
export class DisposedError extends PmetalError {
  constructor(message: string) {
    super('DISPOSED', message);
  }
}
export class BackendMismatchError extends PmetalError {
  constructor(message: string) {
    super('BACKEND_MISMATCH', message);
  }
}
/** A kernel failed to compile; `key` is the pipeline cache key, `line`/`col` point into the final source. */
export class ShaderCompileError extends PmetalError {
  constructor(
    message: string,
    readonly key: string,
    readonly line?: number,
    readonly col?: number,
  ) {
    super('SHADER_COMPILE', message);
  }
}
export class GpuValidationError extends PmetalError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('GPU_VALIDATION', message, options);
  }
}
export class GpuOutOfMemoryError extends PmetalError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('GPU_OUT_OF_MEMORY', message, options);
  }
}
export class DeviceLostError extends PmetalError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('DEVICE_LOST', message, options);
  }
}
/** A kernel failed while running (host runtime: divergent barrier, out-of-bounds access). */
export class KernelError extends PmetalError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('KERNEL', message, options);
  }
}
/** A call needs more than the device allows (a buffer, a binding, a dispatch); the message names the limit and the way around it. */
export class LimitError extends PmetalError {
  constructor(message: string) {
    super('LIMIT', message);
  }
}

/**
 * A checkpoint file (weights, config, tokenizer) is missing, malformed or contradicts another:
 * a truncated file, a missing tensor, a shape that contradicts config.json, an unknown
 * architecture. The message names the file and the tensor or key; `file` and `tensor` carry
 * them too, so a caller can report or skip without parsing the message.
 */
export class ModelLoadError extends PmetalError {
  readonly file?: string;
  readonly tensor?: string;
  constructor(message: string, options?: { cause?: unknown; file?: string; tensor?: string }) {
    super('MODEL_LOAD', message, options);
    this.file = options?.file;
    this.tensor = options?.tensor;
  }
}

/**
 * A training-data file (JSONL) has a malformed record: not JSON, not a `{"text"}` or
 * `{"messages"}` record, or a conversation the chat template cannot mask. The message names the
 * file, the 1-based line and what was expected; `file` and `line` carry them too, so a caller
 * that skips bad records can count and report them without parsing the message.
 */
export class DataError extends PmetalError {
  readonly file: string;
  readonly line?: number;
  constructor(message: string, options: { cause?: unknown; file: string; line?: number }) {
    super('DATA', message, options);
    this.file = options.file;
    this.line = options.line;
  }
}
